/** The page frame: header with navigation, connection indicator, sign-in and cart button; page-view tracking. */
import { useEffect, useState } from "react";
import { NavLink, Outlet, useLocation } from "react-router-dom";
import { countOf } from "../lib/format";
import { useCart, useConnectionStatus, useIdentity, useReminder, useShop } from "../state/shop";
import { CartDrawer } from "./CartDrawer";
import { ConnectionIndicator } from "./ConnectionIndicator";
import { Footer } from "./Footer";
import { useFocusHeadingOnNavigate } from "./page";
import { SearchBox } from "./SearchBox";
import { useScrollMemory } from "../state/useScrollMemory";
import { AccountMenu } from "./SignIn";
import { WishlistAlertBanner } from "./Wishlist";

const SHOP_LINKS = [
  { to: "/", label: "Home", end: true },
  { to: "/catalog", label: "Catalog" },
  { to: "/orders", label: "Orders" },
];
const OPS_LINKS = [
  { to: "/ops/dashboard", label: "Dashboard" },
  { to: "/ops/admin", label: "Admin" },
  { to: "/ops/events", label: "Events" },
  { to: "/ops/products", label: "Products" },
  { to: "/ops/inventory", label: "Inventory" },
];

function navClass({ isActive }: { isActive: boolean }): string {
  return `flex min-h-11 items-center rounded px-2 py-1 md:min-h-0 focus-visible:outline-2 ${isActive ? "bg-indigo-50 font-semibold text-indigo-700" : "hover:bg-slate-100"}`;
}

export function Layout() {
  const stores = useShop();
  const { track } = stores;
  const status = useConnectionStatus();
  const { isOperator } = useIdentity();
  const { data: cart } = useCart();
  const reminder = useReminder();
  const setCartOpen = (open: boolean) => stores.cartOpen.set(open);
  const dismissReminder = () => stores.reminder.set(null);
  const location = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  useScrollMemory();
  // the menu closes on every navigation (adjusted while rendering, not in an effect)
  const [menuPath, setMenuPath] = useState(location.pathname);
  if (menuPath !== location.pathname) {
    setMenuPath(location.pathname);
    setMenuOpen(false);
  }

  useFocusHeadingOnNavigate(location.pathname);

  useEffect(() => {
    track({ eventType: "PAGE_VIEW", page: location.pathname.slice(0, 300) });
  }, [location.pathname, track]);

  // operator pages are linked for operators only (the server refuses their data to anyone else)
  const links = [...SHOP_LINKS, ...(isOperator ? OPS_LINKS : [])];
  return (
    <div className="flex min-h-screen flex-col">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:p-2">
        Skip to content
      </a>
      <header className="sticky top-0 z-30 border-b border-slate-200 bg-white/95 backdrop-blur">
        <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-2 px-3 py-2">
          <NavLink to="/" className="mr-1 flex min-h-11 items-center text-lg font-bold text-indigo-700 sm:mr-2 sm:text-xl md:min-h-0">KartShoppe</NavLink>
          <button
            type="button"
            className="flex h-11 w-11 items-center justify-center rounded border border-slate-300 md:hidden"
            aria-label="Menu"
            aria-expanded={menuOpen}
            aria-controls="main-nav"
            onClick={() => setMenuOpen((o) => !o)}
          >
            <svg viewBox="0 0 20 20" className="h-5 w-5" aria-hidden="true">
              <path d="M3 5h14M3 10h14M3 15h14" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
            </svg>
          </button>
          <nav id="main-nav" aria-label="Main" className={`${menuOpen ? "flex" : "hidden"} order-last w-full flex-col gap-1 text-sm md:order-none md:flex md:w-auto md:flex-row`}>
            {links.map((l) => (
              <NavLink key={l.to} to={l.to} end={"end" in l} className={navClass}>
                {l.label}
              </NavLink>
            ))}
          </nav>
          <SearchBox />
          {/* tighter on a phone, so the cluster shares the logo's row rather than taking its own */}
          <div className="ml-auto flex items-center gap-2 sm:gap-3">
            <ConnectionIndicator status={status} />
            <AccountMenu />
            <button
              type="button"
              onClick={() => setCartOpen(true)}
              className="relative rounded bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2"
              aria-label={`Open cart, ${countOf(cart?.itemCount ?? 0, "item")}`}
              data-testid="cart-button"
            >
              Cart <span data-testid="cart-count" className="ml-1 rounded-full bg-white/20 px-1.5">{cart?.itemCount ?? 0}</span>
            </button>
          </div>
        </div>
      </header>
      {reminder ? (
        <div role="status" className="border-b border-amber-200 bg-amber-50" data-testid="cart-reminder">
          <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-2 px-3 py-2 text-sm text-amber-900">
            <span className="flex-1">{reminder}</span>
            <button type="button" onClick={() => { setCartOpen(true); dismissReminder(); }} className="rounded bg-amber-600 px-2 py-1 text-white hover:bg-amber-700 focus-visible:outline-2">View cart</button>
            <button type="button" onClick={dismissReminder} className="rounded px-2 py-1 hover:bg-amber-100 focus-visible:outline-2" aria-label="Dismiss reminder">✕</button>
          </div>
        </div>
      ) : null}
      <WishlistAlertBanner />
      <main id="main" className="mx-auto w-full max-w-6xl flex-1 px-3 py-4">
        <Outlet />
      </main>
      <Footer />
      <CartDrawer />
    </div>
  );
}
