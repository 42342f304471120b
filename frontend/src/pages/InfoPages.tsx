/**
 * The shop's information pages linked from the footer: shipping, returns and contact. What they
 * promise is what the shop does: the checkout prices delivery for the cart and address entered,
 * and an order can be cancelled (refunded, stock released) until it ships.
 */
import type { ReactNode } from "react";
import { Link } from "react-router-dom";
import { usePageTitle } from "../components/page";

function InfoPage({ title, children }: { title: string; children: ReactNode }) {
  usePageTitle(title);
  return (
    <article className="mx-auto max-w-2xl space-y-4 leading-relaxed text-slate-800">
      <h1 className="text-2xl font-bold text-slate-900">{title}</h1>
      {children}
    </article>
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="space-y-2">
      <h2 className="text-lg font-semibold text-slate-900">{title}</h2>
      {children}
    </section>
  );
}

const LINK = "text-indigo-700 underline";

export function ShippingPage() {
  return (
    <InfoPage title="Shipping">
      <p>We ship to the United States, Canada, the United Kingdom, Germany, France and the Netherlands.</p>
      <Section title="Delivery options">
        <ul className="list-disc space-y-1 pl-6">
          <li><strong>Standard</strong>: 3 to 5 business days, free above the free-shipping amount shown at checkout.</li>
          <li><strong>Express</strong>: 1 to 2 business days.</li>
        </ul>
        <p>The checkout shows each option's cost and estimated delivery date for your cart and address before you pay, with any tax for your destination.</p>
      </Section>
      <Section title="Tracking your order">
        <p>
          Your <Link to="/orders" className={LINK}>orders page</Link> shows each order's status as it changes: placed, paid, shipped and delivered.
          The confirmation e-mail has your order number.
        </p>
      </Section>
    </InfoPage>
  );
}

export function ReturnsPage() {
  return (
    <InfoPage title="Returns">
      <Section title="Changed your mind before it ships?">
        <p>
          Open the order from your <Link to="/orders" className={LINK}>orders page</Link> and choose <strong>Cancel order</strong>.
          A paid order is refunded to the card you paid with, in full.
        </p>
      </Section>
      <Section title="After delivery">
        <p>
          You can return unused items in their original packaging within 30 days of delivery.
          <Link to="/contact" className={`ml-1 ${LINK}`}>Contact us</Link> with your order number and we will send you a prepaid return label.
          We refund the items' price once the parcel reaches us.
        </p>
      </Section>
    </InfoPage>
  );
}

export function ContactPage() {
  return (
    <InfoPage title="Contact">
      <p>We answer every message within one business day.</p>
      <dl className="grid gap-x-6 gap-y-2 sm:grid-cols-[auto_1fr]">
        <dt className="font-semibold">E-mail</dt>
        <dd><a href="mailto:help@kartshoppe.dev" className={LINK}>help@kartshoppe.dev</a></dd>
        <dt className="font-semibold">Hours</dt>
        <dd>Monday to Friday, 9:00 to 17:00 (UTC)</dd>
        <dt className="font-semibold">About an order</dt>
        <dd>Please give the order number from your confirmation e-mail or your <Link to="/orders" className={LINK}>orders page</Link>.</dd>
      </dl>
    </InfoPage>
  );
}
