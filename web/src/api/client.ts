import createClient from "openapi-fetch";
import type { components, paths } from "./schema";
import { AuthSession } from "./session";

/** Every API path in the spec already starts with /api/v1, so the client's base is the origin. */
export const API_BASE = "/api/v1";

export const session = new AuthSession({ baseUrl: API_BASE });

// An absolute base (same origin) so requests are valid URLs outside a browser too (unit tests).
export const api = createClient<paths>({ baseUrl: globalThis.location?.origin ?? "", fetch: session.fetch });

/** Shapes generated from the OpenAPI spec (`npm run generate:api`); never written by hand. */
export type Schemas = components["schemas"];
export type ApiPath = keyof paths;
