import { useId, useMemo, useState, type KeyboardEvent } from "react";
import { searchZones, utcOffset } from "../lib/timezones";

interface TimeZonePickerProps {
  label: string;
  value: string;
  onChange(zone: string): void;
  error?: string | undefined;
  name?: string;
}

/**
 * A searchable IANA time-zone combobox (WAI-ARIA combobox pattern): type "tokyo" or "+09", arrow
 * through matches, Enter to pick, Escape to leave it as it was.
 */
export function TimeZonePicker({ label, value, onChange, error, name }: TimeZonePickerProps) {
  const id = useId();
  const listId = `${id}-list`;
  const errorId = `${id}-error`;
  const [query, setQuery] = useState<string | null>(null);
  const [active, setActive] = useState(0);
  const open = query !== null;
  const matches = useMemo(() => (open ? searchZones(query) : []), [open, query]);

  const choose = (zone: string) => {
    onChange(zone);
    setQuery(null);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (!open) setQuery("");
      setActive((i) => Math.min(i + 1, Math.max(matches.length - 1, 0)));
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      setActive((i) => Math.max(i - 1, 0));
    } else if (event.key === "Enter" && open) {
      event.preventDefault();
      const zone = matches[active];
      if (zone) choose(zone.id);
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      setQuery(null);
    }
  };

  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <div className="combo">
        <input
          id={id}
          name={name}
          className="input"
          role="combobox"
          autoComplete="off"
          aria-autocomplete="list"
          aria-expanded={open}
          aria-controls={listId}
          aria-activedescendant={open && matches[active] ? `${id}-opt-${active}` : undefined}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
          placeholder="Search a city or region"
          value={open ? query : value}
          onFocus={() => {
            setQuery("");
            setActive(0);
          }}
          onChange={(event) => {
            setQuery(event.target.value);
            setActive(0);
          }}
          onBlur={() => setQuery(null)}
          onKeyDown={onKeyDown}
        />
        {open && (
          <ul id={listId} role="listbox" className="combo-list" aria-label={`${label} options`}>
            {matches.length === 0 && <li aria-disabled="true">No time zone matches “{query}”</li>}
            {matches.map((zone, index) => (
              <li
                key={zone.id}
                id={`${id}-opt-${index}`}
                role="option"
                aria-selected={index === active}
                // mousedown, not click: it fires before the input's blur closes the list.
                onMouseDown={(event) => {
                  event.preventDefault();
                  choose(zone.id);
                }}
              >
                <span>{zone.id.replace(/_/g, " ")}</span>
                <span className="muted small">{zone.offset}</span>
              </li>
            ))}
          </ul>
        )}
      </div>
      <p className="hint">{value ? `Now ${utcOffset(value)}` : "Pick the zone your posts are planned in"}</p>
      {error && (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      )}
    </div>
  );
}
