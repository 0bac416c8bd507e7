import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api } from "../../api/client";
import { unwrap } from "../../api/errors";
import type { Network } from "../../lib/counters";
import { overridesFor, type ComposerState } from "./composerState";

const DEBOUNCE_MS = 500;

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

/**
 * The server's verdict (POST /posts/validate) on what the user typed, a moment after they stop.
 * The local counters answer instantly; this is the authority (media rules, account specifics).
 */
export function useServerValidation(brandId: string, state: ComposerState, enabled: boolean) {
  const payload = useDebounced(
    JSON.stringify({
      brandId,
      content: state.text,
      platforms: state.networks,
      overrides: overridesFor(state),
      mediaIds: state.media.filter((m) => !m.id.startsWith("local-")).map((m) => m.id),
    }),
    DEBOUNCE_MS,
  );
  const query = useQuery({
    queryKey: ["validate", payload],
    queryFn: () => unwrap(api.POST("/api/v1/posts/validate", { body: JSON.parse(payload) })),
    enabled: enabled && state.networks.length > 0,
    staleTime: Infinity,
    placeholderData: (previous) => previous,
  });
  const issues: Partial<Record<Network, string[]>> = {};
  for (const [network, result] of Object.entries(query.data?.results ?? {})) {
    if (state.networks.includes(network as Network)) issues[network as Network] = result.issues.map((i) => i.message);
  }
  return { issues, ok: query.data?.ok ?? null, checking: query.isFetching };
}
