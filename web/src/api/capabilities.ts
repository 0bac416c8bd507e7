import { useQuery } from "@tanstack/react-query";

/**
 * Which endpoints the running server has, read from its live OpenAPI document. Screens whose API is
 * still being built check this and show "not available yet" instead of failing or faking data, and
 * start working as soon as the server grows the endpoint.
 */
export type HttpMethod = "get" | "post" | "patch" | "put" | "delete";

export interface Capabilities {
  has(method: HttpMethod, path: string): boolean;
}

interface OpenApiDocument {
  paths?: Record<string, Record<string, unknown>>;
}

export function capabilitiesFrom(doc: OpenApiDocument): Capabilities {
  const routes = new Set<string>();
  for (const [path, operations] of Object.entries(doc.paths ?? {})) {
    for (const method of Object.keys(operations)) routes.add(`${method.toLowerCase()} ${path}`);
  }
  return { has: (method, path) => routes.has(`${method} ${path}`) };
}

async function fetchCapabilities(): Promise<Capabilities> {
  const response = await fetch("/api/v1/openapi.json");
  if (!response.ok) throw new Error(`Could not read the API description (${response.status})`);
  return capabilitiesFrom((await response.json()) as OpenApiDocument);
}

export function useCapabilities() {
  return useQuery({ queryKey: ["capabilities"], queryFn: fetchCapabilities, staleTime: 5 * 60_000 });
}
