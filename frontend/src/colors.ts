// Series colours: hues a golden angle apart, so neighbouring series differ
// strongly and no two of the first few hundred share a colour.

const GOLDEN_ANGLE = 137.508;
const LIGHTNESS = [45, 58, 36];

export function seriesColor(i: number, alpha = 1): string {
  const hue = (i * GOLDEN_ANGLE + 210) % 360;
  const light = LIGHTNESS[Math.floor(i / 7) % LIGHTNESS.length];
  return alpha === 1 ? `hsl(${hue.toFixed(1)} 70% ${light}%)` : `hsl(${hue.toFixed(1)} 70% ${light}% / ${alpha})`;
}
