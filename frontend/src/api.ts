// The collector's HTTP API (Prometheus's /api/v1 plus the UI's dashboards).

import { url as prefixed } from "./paths";
import { apiPath, readJSON, takeEarly, type Params } from "./request";

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

export async function getJSON<T>(path: string, params?: Params): Promise<T> {
  const url = prefixed(apiPath(path, params));
  const { status, statusText, body: parsed } = await (takeEarly(url) ?? readJSON(url));
  if (parsed === undefined) throw new ApiError(`${status} ${statusText} from ${path}`);
  const body = parsed as Envelope<T>;
  if (body.status !== "success") throw new ApiError(body.error ?? `${status} from ${path}`);
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
