/** A cart line's quantity: −/+ buttons, and a field that commits on Enter or leaving it, not on every key. */
import { useState } from "react";

export function QuantityInput({ id, label, value, onCommit }: { id: string; label: string; value: number; onCommit: (quantity: number) => void }) {
  const [draft, setDraft] = useState(String(value));
  // a new value from the server replaces the draft (adjusted while rendering, not in an effect)
  const [shown, setShown] = useState(value);
  if (shown !== value) {
    setShown(value);
    setDraft(String(value));
  }

  const commit = (raw: string) => {
    const q = Number(raw);
    if (Number.isInteger(q) && q >= 1 && q <= 99) {
      if (q !== value) onCommit(q);
    } else {
      setDraft(String(value));
    }
  };
  const step = "h-8 w-8 rounded border border-slate-300 hover:bg-slate-100 focus-visible:outline-2 disabled:opacity-40";
  return (
    <div className="flex items-center gap-1">
      <button type="button" className={step} disabled={value <= 1} onClick={() => onCommit(value - 1)} aria-label={`One less ${label}`}>−</button>
      <label className="sr-only" htmlFor={id}>Quantity of {label}</label>
      <input
        id={id}
        inputMode="numeric"
        value={draft}
        onChange={(ev) => setDraft(ev.target.value)}
        onBlur={(ev) => commit(ev.target.value)}
        onKeyDown={(ev) => {
          if (ev.key === "Enter") commit(ev.currentTarget.value);
        }}
        className="h-8 w-12 rounded border border-slate-300 text-center"
        data-testid="cart-qty"
      />
      <button type="button" className={step} disabled={value >= 99} onClick={() => onCommit(value + 1)} aria-label={`One more ${label}`}>+</button>
    </div>
  );
}
