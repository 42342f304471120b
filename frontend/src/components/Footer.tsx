/** The page footer: the shop's information pages. */
import { Link } from "react-router-dom";

export const INFO_LINKS = [
  { to: "/shipping", label: "Shipping" },
  { to: "/returns", label: "Returns" },
  { to: "/contact", label: "Contact" },
];

export function Footer() {
  return (
    <footer className="mt-8 border-t border-slate-200 bg-white">
      <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-4 gap-y-1 px-3 py-4 text-sm text-slate-700">
        <nav aria-label="Shop information">
          <ul className="flex flex-wrap gap-x-2">
            {INFO_LINKS.map((l) => (
              <li key={l.to}>
                <Link to={l.to} className="inline-flex min-h-11 items-center rounded px-2 hover:bg-slate-100 hover:underline focus-visible:outline-2">{l.label}</Link>
              </li>
            ))}
          </ul>
        </nav>
        <p className="ml-auto text-slate-600">© KartShoppe</p>
      </div>
    </footer>
  );
}
