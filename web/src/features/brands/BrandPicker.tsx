import { useEffect, useId, useMemo, useSyncExternalStore } from "react";
import { useSearchParams } from "react-router";
import { useWorkspace } from "../../workspace/WorkspaceProvider";
import { useBrands, type Brand } from "./brandQueries";

/**
 * The brand the user is working on, shared by every screen (accounts, composer, calendar, posts,
 * analytics) and remembered per workspace. A `?brandId=` in the URL wins, so links can point at one.
 */
const listeners = new Set<() => void>();
const storageKey = (workspaceKey: string) => `t21.brand.${workspaceKey}`;

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function rememberBrand(workspaceKey: string, brandId: string) {
  localStorage.setItem(storageKey(workspaceKey), brandId);
  listeners.forEach((l) => l());
}

export interface SelectedBrand {
  brand: Brand | undefined;
  brands: Brand[];
  isPending: boolean;
  /** The brands could not be loaded (show it with a retry, not "create a brand"). */
  error: unknown;
  retry(): void;
  select(brandId: string): void;
}

export function useSelectedBrand(): SelectedBrand {
  const { key } = useWorkspace();
  const brands = useBrands();
  const [params, setParams] = useSearchParams();
  const remembered = useSyncExternalStore(subscribe, () => localStorage.getItem(storageKey(key)));
  const fromUrl = params.get("brandId");
  const list = useMemo(() => brands.data ?? [], [brands.data]);
  const brand = list.find((b) => b.id === fromUrl) ?? list.find((b) => b.id === remembered) ?? list[0];

  useEffect(() => {
    if (fromUrl && list.some((b) => b.id === fromUrl) && fromUrl !== remembered) rememberBrand(key, fromUrl);
  }, [fromUrl, list, remembered, key]);

  return {
    brand,
    brands: list,
    isPending: brands.isPending,
    error: brands.error,
    retry: () => void brands.refetch(),
    select: (brandId: string) => {
      rememberBrand(key, brandId);
      if (params.has("brandId")) {
        params.set("brandId", brandId);
        setParams(params, { replace: true });
      }
    },
  };
}

/** A compact brand switcher for page headers; hidden when there is nothing to choose between. */
export function BrandPicker() {
  const id = useId();
  const { brand, brands, select } = useSelectedBrand();
  if (brands.length < 2 || !brand) return null;
  return (
    <div className="field" style={{ minWidth: 200 }}>
      <label htmlFor={id} className="small">
        Brand
      </label>
      <select id={id} className="select" value={brand.id} onChange={(e) => select(e.target.value)}>
        {brands.map((b) => (
          <option key={b.id} value={b.id}>
            {b.name}
          </option>
        ))}
      </select>
    </div>
  );
}
