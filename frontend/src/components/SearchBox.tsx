/**
 * The header's product search: suggestions as you type in an accessible combobox (WAI-ARIA 1.2
 * "combobox with listbox popup"). Arrow keys move through the suggestions, Enter opens the one
 * chosen or searches the catalog for what is typed, Escape closes the list.
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useId, useState, type FormEvent, type KeyboardEvent } from "react";
import { useLocation, useNavigate } from "react-router-dom";
import { formatMoney } from "../lib/format";
import { suggestQuery } from "../state/queries";

const DEBOUNCE_MS = 150;
const MIN_CHARS = 2;

function useDebounced(value: string, ms: number): string {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const id = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(id);
  }, [value, ms]);
  return settled;
}

export function SearchBox() {
  const navigate = useNavigate();
  const location = useLocation();
  const addressQ = location.pathname === "/catalog" ? (new URLSearchParams(location.search).get("q") ?? "") : "";
  const [text, setText] = useState(addressQ);
  // a search from the address (Back, a link) replaces what is typed (adjusted while rendering)
  const [textFor, setTextFor] = useState(addressQ);
  if (textFor !== addressQ) {
    setTextFor(addressQ);
    setText(addressQ);
  }
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const listId = useId();
  const typed = useDebounced(text.trim(), DEBOUNCE_MS);
  const suggestions = useQuery({ ...suggestQuery(typed), enabled: open && typed.length >= MIN_CHARS });
  const items = typed.length >= MIN_CHARS && suggestions.data?.query === typed ? suggestions.data.suggestions : [];
  const expanded = open && items.length > 0;

  const choose = (id: string) => {
    setOpen(false);
    setActive(-1);
    navigate(`/product/${encodeURIComponent(id)}`);
  };

  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    const chosen = expanded && active >= 0 ? items[active] : undefined;
    if (chosen) {
      choose(chosen.id);
      return;
    }
    setOpen(false);
    const q = text.trim();
    navigate(q ? `/catalog?q=${encodeURIComponent(q)}` : "/catalog");
  };

  const onKeyDown = (ev: KeyboardEvent<HTMLInputElement>) => {
    if (ev.key === "ArrowDown") {
      ev.preventDefault();
      setOpen(true);
      setActive((i) => (items.length ? (i + 1) % items.length : -1));
    } else if (ev.key === "ArrowUp") {
      ev.preventDefault();
      setActive((i) => (items.length ? (i <= 0 ? items.length - 1 : i - 1) : -1));
    } else if (ev.key === "Escape") {
      if (expanded) ev.preventDefault();
      setOpen(false);
      setActive(-1);
    }
  };

  return (
    <form role="search" aria-label="Products" onSubmit={submit} className="relative order-last flex w-full gap-1 sm:order-none sm:w-auto sm:min-w-64 sm:flex-1 sm:max-w-md">
      <label htmlFor="site-search" className="sr-only">Search</label>
      <input
        id="site-search"
        type="search"
        role="combobox"
        autoComplete="off"
        aria-autocomplete="list"
        aria-expanded={expanded}
        aria-controls={listId}
        aria-activedescendant={expanded && active >= 0 ? `${listId}-${active}` : undefined}
        value={text}
        placeholder="Search products"
        onChange={(e) => {
          setText(e.target.value);
          setOpen(true);
          setActive(-1);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
        onKeyDown={onKeyDown}
        className="min-h-9 w-full rounded border border-slate-300 px-3 py-1.5 text-sm"
      />
      <button type="submit" className="rounded bg-slate-800 px-3 py-1.5 text-sm text-white hover:bg-slate-700 focus-visible:outline-2">
        Search
      </button>
      <ul
        id={listId}
        role="listbox"
        aria-label="Suggestions"
        hidden={!expanded}
        className="absolute left-0 right-0 top-full z-40 mt-1 max-h-80 overflow-auto rounded border border-slate-200 bg-white py-1 shadow-lg"
      >
        {items.map((s, i) => (
          <li
            key={s.id}
            id={`${listId}-${i}`}
            role="option"
            aria-selected={i === active}
            // mousedown, not click: the input keeps focus and the list is not closed by its blur first
            onMouseDown={(e) => {
              e.preventDefault();
              choose(s.id);
            }}
            onMouseEnter={() => setActive(i)}
            className={`flex cursor-pointer items-baseline justify-between gap-3 px-3 py-2 text-sm ${i === active ? "bg-indigo-50" : ""}`}
            data-testid="suggestion"
          >
            <span>
              {s.name}
              <span className="ml-1 text-xs text-slate-500">{s.category}</span>
            </span>
            <span className="text-slate-700">{formatMoney(s.price)}</span>
          </li>
        ))}
      </ul>
    </form>
  );
}
