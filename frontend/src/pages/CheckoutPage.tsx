/**
 * Checkout like a real shop: contact e-mail, shipping address, delivery option, coupon and card.
 * The summary is the server's quote, fetched again whenever the details or the cart change (a
 * flash sale pushed over the WebSocket reprices the cart, and so the quote). The order is placed
 * at the quoted total (`expectedTotal`) and the card charged that same amount. A declined card
 * leaves the placed order payable: the shopper tries another card without placing it again.
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { Link } from "react-router-dom";
import { usePageTitle } from "../components/page";
import { useNow } from "../components/Price";
import { focusHeading, mainHeading } from "../lib/focus";
import { LinesSkeleton } from "../components/Skeleton";
import { Empty, Loading } from "../components/States";
import { CardFields, Field, INPUT, NO_CARD, problemOf, type Problem } from "../components/FormFields";
import { api } from "../lib/api";
import { newId } from "../lib/ids";
import { formatCalendarDate, formatMoney } from "../lib/format";
import type { Address, Card, Order, Quote, QuoteRequest } from "../lib/types";
import { meQuery, ordersQuery } from "../state/queries";
import { useCart, useIdentity, useShop } from "../state/shop";
import shipping from "../generated/countries.json";
import { OrderSummary } from "./OrderDetailPage";
import { payBy } from "./OrdersPage";

/** The countries the shop ships to, as the server's checkout rules define them. */
const COUNTRIES = shipping.countries;

function countryOf(code: string): (typeof COUNTRIES)[number] | undefined {
  return COUNTRIES.find((c) => c.code === code);
}

const EMPTY_ADDRESS: Address = { name: "", line1: "", line2: "", city: "", region: "", postalCode: "", country: "US" };

/** The address is sent for a quote only once it is complete enough to be checked. */
function addressReady(a: Address): boolean {
  return Boolean(a.name && a.line1 && a.city && a.postalCode && a.country);
}

/** What a shopper filled in last: the account's e-mail, else the latest order's; the latest
 * order's shipping address. `orders` are newest first. */
export function lastDetails(orders: Order[], accountEmail: string | null): { email: string | null; address: Address | null } {
  const shipped = orders.find((o) => o.address !== null);
  return {
    email: accountEmail ?? orders.find((o) => o.email)?.email ?? null,
    address: shipped?.address ? { ...EMPTY_ADDRESS, ...shipped.address } : null,
  };
}

export function CheckoutPage() {
  const { refreshCart } = useShop();
  const { sessionId, userId } = useIdentity();
  const { data: cart } = useCart();
  const [email, setEmail] = useState("");
  const [address, setAddress] = useState<Address>(EMPTY_ADDRESS);
  const [delivery, setDelivery] = useState("standard");
  const [couponInput, setCouponInput] = useState("");
  const [coupon, setCoupon] = useState<string | null>(null);
  const [card, setCard] = useState<Card>(NO_CARD);
  const [quote, setQuote] = useState<Quote | null>(null);
  // whether the quote in hand was made with an address, so its tax is the destination's
  const [taxQuoted, setTaxQuoted] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [couponProblem, setCouponProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState<"placing" | "paying" | null>(null);
  const [placed, setPlaced] = useState<Order | null>(null);
  const now = useNow(60_000);
  const [done, setDone] = useState<Order | null>(null);
  // one key per checkout: a retry after a lost answer gets the same order back
  const [idempotencyKey] = useState(() => newId("chk"));
  // a returning shopper's details, from the account and the latest order that was shipped
  const me = useQuery({ ...meQuery(userId ?? ""), enabled: userId !== null });
  const past = useQuery(ordersQuery({ sessionId, userId }));
  const [prefilled, setPrefilled] = useState(false);
  if (!prefilled && past.data && (userId === null || me.data)) {
    setPrefilled(true);
    const known = lastDetails(past.data, me.data?.email ?? null);
    if (!email && known.email) setEmail(known.email);
    if (known.address && address === EMPTY_ADDRESS) setAddress(known.address);
  }

  const details: QuoteRequest = useMemo(
    () => ({
      sessionId,
      ...(userId ? { userId } : {}),
      ...(email ? { email } : {}),
      ...(addressReady(address) ? { address } : {}),
      delivery,
      ...(coupon ? { couponCode: coupon } : {}),
    }),
    [sessionId, userId, email, address, delivery, coupon],
  );

  // the quote follows the cart (pushed live) and the details
  useEffect(() => {
    if (placed || done || !cart || cart.lines.length === 0) return;
    let live = true;
    const timer = setTimeout(() => {
      api.quote(details).then(
        (q) => {
          if (!live) return;
          setQuote(q);
          setTaxQuoted(details.address !== undefined);
          setProblem(null);
        },
        (err: unknown) => {
          if (!live) return;
          const p = problemOf(err);
          if (p.field === "couponCode") {
            setCoupon(null);
            setCouponProblem(p.message);
          } else setProblem(p);
        },
      );
    }, 150);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [details, cart, placed, done]);

  const applyCoupon = async () => {
    const code = couponInput.trim().toUpperCase();
    if (!code) return;
    setCouponProblem(null);
    try {
      setQuote(await api.quote({ ...details, couponCode: code }));
      setTaxQuoted(details.address !== undefined);
      setCoupon(code);
    } catch (err) {
      setCouponProblem(problemOf(err).message);
    }
  };

  const pay = async (order: Order) => {
    setBusy("paying");
    try {
      const paid = await api.pay(order.orderId, { sessionId }, card, order.total);
      setDone(paid);
      setPlaced(null);
    } catch (err) {
      setProblem(problemOf(err));
    } finally {
      setBusy(null);
    }
  };

  const placeAndPay = async () => {
    setProblem(null);
    if (placed) return pay(placed);
    if (!quote) return;
    if (!addressReady(address)) {
      setProblem({ message: "fill in the shipping address", field: "address.name" });
      return;
    }
    setBusy("placing");
    let order: Order;
    try {
      order = await api.checkout(details, idempotencyKey, quote.total);
      setPlaced(order);
      void refreshCart();
    } catch (err) {
      setProblem(problemOf(err));
      setBusy(null);
      return;
    }
    await pay(order);
  };

  usePageTitle(done ? "Order confirmed" : "Checkout");
  // the confirmation replaces the form (and its Pay button, which had focus) at the same address
  useEffect(() => {
    const heading = done ? mainHeading() : null;
    if (heading) focusHeading(heading);
  }, [done]);

  if (done) {
    return (
      <div className="mx-auto max-w-2xl rounded-lg border border-emerald-200 bg-emerald-50 p-4 sm:p-6" data-testid="order-confirmation">
        <h1 className="text-2xl font-bold text-emerald-800">Thank you! Your order is confirmed.</h1>
        <p className="mt-2 break-all">Order <span className="font-mono" data-testid="confirmed-order-id" data-order-id={done.orderId}>{done.reference}</span></p>
        <p className="text-sm text-slate-700">A confirmation is on its way to {done.email}.</p>
        <div className="mt-4"><OrderSummary order={done} /></div>
        <div className="mt-4 flex flex-wrap gap-2">
          <Link to={`/orders/${done.orderId}`} className="rounded bg-indigo-600 px-4 py-2 text-white hover:bg-indigo-700">Order details</Link>
          <Link to="/orders" className="rounded border border-indigo-600 px-4 py-2 text-indigo-700">See your orders</Link>
        </div>
      </div>
    );
  }
  if (!cart || (cart.lines.length === 0 && !placed)) {
    return (
      <div className="mx-auto max-w-2xl">
        <h1 className="mb-4 text-2xl font-bold">Checkout</h1>
        {cart ? <Empty title="Your cart is empty"><Link to="/catalog" className="text-indigo-700 underline">Find something</Link></Empty> : <LinesSkeleton label="Loading cart…" />}
      </div>
    );
  }
  const setAddr = (key: keyof Address) => (e: { target: { value: string } }) => setAddress({ ...address, [key]: e.target.value });
  const country = countryOf(address.country);
  // a state of one country is no region of another
  const setCountry = (e: { target: { value: string } }) => {
    const regions = countryOf(e.target.value)?.regions ?? [];
    setAddress({ ...address, country: e.target.value, region: regions.includes(address.region ?? "") ? address.region : "" });
  };
  const summary = placed ?? quote;
  return (
    <div className="mx-auto grid max-w-5xl gap-6 md:grid-cols-[1fr_20rem]">
      <form className="min-w-0 space-y-5" aria-label="Checkout" onSubmit={(e) => { e.preventDefault(); void placeAndPay(); }}>
        <h1 className="text-2xl font-bold">Checkout</h1>
        <fieldset disabled={Boolean(placed)} className="space-y-3">
          <legend className="text-lg font-semibold">Contact</legend>
          <Field label="Email" name="email" problem={problem}>
            <input className={INPUT} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
          </Field>
        </fieldset>
        <fieldset disabled={Boolean(placed)} className="grid gap-3 sm:grid-cols-2">
          <legend className="text-lg font-semibold">Shipping address</legend>
          <div className="sm:col-span-2">
            <Field label="Country" name="address.country" problem={problem}>
              <select className={INPUT} autoComplete="country" value={address.country} onChange={setCountry}>
                {COUNTRIES.map((c) => <option key={c.code} value={c.code}>{c.name}</option>)}
              </select>
            </Field>
          </div>
          <div className="sm:col-span-2"><Field label="Full name" name="address.name" problem={problem}><input className={INPUT} autoComplete="name" required value={address.name} onChange={setAddr("name")} /></Field></div>
          <div className="sm:col-span-2"><Field label="Address" name="address.line1" problem={problem}><input className={INPUT} autoComplete="address-line1" required value={address.line1} onChange={setAddr("line1")} /></Field></div>
          <div className="sm:col-span-2"><Field label="Apartment, suite (optional)" name="address.line2" problem={problem}><input className={INPUT} autoComplete="address-line2" value={address.line2 ?? ""} onChange={setAddr("line2")} /></Field></div>
          <Field label="City" name="address.city" problem={problem}><input className={INPUT} autoComplete="address-level2" required value={address.city} onChange={setAddr("city")} /></Field>
          <Field label="State / province" name="address.region" problem={problem}>
            {country && country.regions.length > 0 ? (
              <select className={INPUT} autoComplete="address-level1" required value={address.region ?? ""} onChange={setAddr("region")}>
                <option value="">Choose…</option>
                {country.regions.map((r) => <option key={r} value={r}>{r}</option>)}
              </select>
            ) : (
              <input className={INPUT} autoComplete="address-level1" value={address.region ?? ""} onChange={setAddr("region")} />
            )}
          </Field>
          <Field label="Postal code" name="address.postalCode" problem={problem}><input className={INPUT} autoComplete="postal-code" required placeholder={country ? `e.g. ${country.postalExample}` : undefined} value={address.postalCode} onChange={setAddr("postalCode")} /></Field>
        </fieldset>
        <fieldset disabled={Boolean(placed)} className="space-y-2" data-testid="delivery-options">
          <legend className="text-lg font-semibold">Delivery</legend>
          {(quote?.deliveryOptions ?? []).map((o) => (
            <label key={o.option} className="flex items-center justify-between gap-2 rounded border border-slate-200 p-2 text-sm">
              <span className="flex items-center gap-2">
                <input type="radio" name="delivery" value={o.option} checked={delivery === o.option} onChange={() => setDelivery(o.option)} />
                <span>{o.label}<span className="block text-xs text-slate-600">arrives by {formatCalendarDate(o.estimatedDate)}</span></span>
              </span>
              <span className="font-medium">{o.cost === 0 ? "Free" : formatMoney(o.cost)}</span>
            </label>
          ))}
        </fieldset>
        <fieldset disabled={Boolean(placed)} className="space-y-2">
          <legend className="text-lg font-semibold">Coupon</legend>
          <div className="flex gap-2">
            <label className="sr-only" htmlFor="coupon-code">Coupon code</label>
            <input id="coupon-code" className={`${INPUT} mt-0 uppercase`} value={couponInput} onChange={(e) => setCouponInput(e.target.value)} placeholder="Code" />
            <button type="button" className="rounded border border-indigo-600 px-3 text-indigo-700" onClick={() => void applyCoupon()}>Apply</button>
          </div>
          {coupon ? <p className="text-sm text-emerald-700" data-testid="coupon-applied">Coupon {coupon} applied</p> : null}
          {couponProblem ? <p className="text-sm text-red-700" role="alert" data-testid="coupon-problem">{couponProblem}</p> : null}
        </fieldset>
        <CardFields card={card} onChange={setCard} problem={problem} />
        {problem ? <div className="rounded border border-red-300 bg-red-50 p-3 text-sm text-red-800" role="alert" data-testid="checkout-problem">{problem.message}</div> : null}
        {placed ? <p className="text-sm text-slate-700" data-testid="order-payable">Order {placed.reference} is placed and waits for payment: pay {payBy(placed, now) ?? "soon"} with another card, or it is cancelled.</p> : null}
        <button type="submit" disabled={busy !== null || !summary} className="w-full rounded bg-indigo-600 px-4 py-3 font-medium text-white hover:bg-indigo-700 disabled:bg-slate-400" data-testid="place-order">
          {busy === "placing" ? "Placing order…" : busy === "paying" ? "Paying…" : `${placed ? "Pay" : "Place order and pay"}${summary ? ` ${formatMoney(summary.total)}` : ""}`}
        </button>
      </form>
      <aside className="min-w-0 md:sticky md:top-4 md:self-start" aria-label="Order summary" data-testid="checkout-summary">
        {summary ? <OrderSummary order={summary} taxToCome={!placed && !taxQuoted} /> : <Loading label="Pricing…" />}
      </aside>
    </div>
  );
}
