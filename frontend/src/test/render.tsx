/** Renders the app (or part of it) with a fake socket, at a given address, for component tests. */
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router-dom";
import { AppRoutes, ROUTER_FUTURE } from "../App";
import { ShopProvider } from "../state/shop";
import { FakeSocket } from "./fakes";

const createSocket = (url: string) => new FakeSocket(url);

export function renderApp(path = "/", children?: ReactNode) {
  return render(
    <ShopProvider createSocket={createSocket}>
      <MemoryRouter initialEntries={[path]} future={ROUTER_FUTURE}>{children ?? <AppRoutes />}</MemoryRouter>
    </ShopProvider>,
  );
}
