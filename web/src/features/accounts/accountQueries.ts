import { useQuery } from "@tanstack/react-query";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";

export type SocialAccount = Schemas["SocialAccountOut"];
export type Platform = Schemas["Platform"];

export const PLATFORM_NAMES: Record<Platform, string> = { x: "X", instagram: "Instagram", linkedin: "LinkedIn" };

export function useSocialAccounts(brandId: string | undefined) {
  return useQuery({
    queryKey: ["social-accounts", brandId],
    queryFn: async () => (await unwrap(api.GET("/api/v1/social-accounts", { params: { query: { brandId: brandId ?? "" } } }))).data,
    enabled: Boolean(brandId),
  });
}

export function useNetworks() {
  return useQuery({
    queryKey: ["networks"],
    queryFn: async () => (await unwrap(api.GET("/api/v1/social-accounts/networks"))).data,
    staleTime: 5 * 60_000,
  });
}
