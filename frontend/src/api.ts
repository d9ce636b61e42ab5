// The collector's HTTP API (Prometheus's /api/v1 plus the UI's dashboards).

import { url as prefixed } from "./paths";

export interface Sample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

export interface QueryData {
  resultType: "matrix" | "vector" | "scalar" | "string";
  result: Sample[] | [number, string];
}

interface Envelope<T> {
  status: "success" | "error";
  data: T;
  error?: string;
  errorType?: string;
  warnings?: string[];
}

export class ApiError extends Error {}

export async function getJSON<T>(path: string, params?: Record<string, string | string[]>): Promise<T> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) {
    for (const one of Array.isArray(v) ? v : [v]) qs.append(k, one);
  }
  const url = prefixed(qs.toString() ? `${path}?${qs.toString()}` : path);
  const resp = await fetch(url, { headers: { Accept: "application/json" } });
  let body: Envelope<T>;
  try {
    body = (await resp.json()) as Envelope<T>;
  } catch {
    throw new ApiError(`${resp.status} ${resp.statusText} from ${path}`);
  }
  if (body.status !== "success") throw new ApiError(body.error ?? `${resp.status} from ${path}`);
  return body.data;
}

export function queryRange(expr: string, start: number, end: number, step: number): Promise<QueryData> {
  return getJSON<QueryData>("/api/v1/query_range", {
    query: expr, start: String(start), end: String(end), step: String(step),
  });
}

export function queryInstant(expr: string, time: number): Promise<QueryData> {
  return getJSON<QueryData>("/api/v1/query", { query: expr, time: String(time) });
}

export function labelValues(label: string, match: string[], start: number, end: number): Promise<string[]> {
  const params: Record<string, string | string[]> = { start: String(start), end: String(end) };
  if (match.length) params["match[]"] = match;
  return getJSON<string[]>(`/api/v1/label/${encodeURIComponent(label)}/values`, params);
}
