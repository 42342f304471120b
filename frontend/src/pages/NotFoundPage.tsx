/** Shown for an unknown address. */
import { Link } from "react-router-dom";
import { Empty } from "../components/States";

export function NotFoundPage() {
  return (
    <Empty title="Page not found">
      <Link to="/" className="text-indigo-700 underline">Back to the shop</Link>
    </Empty>
  );
}
