import { countFor, type Network } from "../../lib/counters";
import { PLATFORM_NAMES } from "../accounts/accountQueries";

/** Live counters for one network, computed with the server's own rules (lib/counters.ts). */
export function NetworkCounter({ network, text }: { network: Network; text: string }) {
  const count = countFor(network, text);
  return (
    <div className="row" data-testid={`counter-${network}`} aria-label={`${PLATFORM_NAMES[network]} limits`} style={{ gap: 12 }}>
      {count.limits.map((limit) => {
        const over = limit.used > limit.max;
        return (
          <span key={limit.label} className={`counter${over ? " over" : ""}`}>
            {limit.used}/{limit.max} {limit.label}
            {over && <span className="visually-hidden"> — over the limit</span>}
          </span>
        );
      })}
    </div>
  );
}
