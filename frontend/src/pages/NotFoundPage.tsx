/** Shown for an unknown address. */
import { Link } from "react-router-dom";
import { usePageTitle } from "../components/page";
import { Empty } from "../components/States";

export function NotFoundPage() {
  usePageTitle("Page not found");
  return (
    <div>
      <h1 className="mb-4 text-2xl font-bold">Page not found</h1>
      <Empty title="There is no page at this address.">
        <Link to="/" className="text-indigo-700 underline">Back to the shop</Link>
      </Empty>
    </div>
  );
}
