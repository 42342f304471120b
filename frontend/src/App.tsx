/** Routes of the shop (shopper pages) and of the operator console under /ops. */
import { BrowserRouter, Route, Routes } from "react-router-dom";
import { Layout } from "./components/Layout";
import { OperatorGate } from "./components/OperatorGate";
import { AccountPage } from "./pages/AccountPage";
import { InventoryPage } from "./pages/InventoryPage";
import { ProductsAdminPage } from "./pages/ProductsAdminPage";
import { AdminPage } from "./pages/AdminPage";
import { WishlistPage } from "./pages/WishlistPage";
import { ResetPasswordPage } from "./pages/ResetPasswordPage";
import { CatalogPage } from "./pages/CatalogPage";
import { CheckoutPage } from "./pages/CheckoutPage";
import { DashboardPage } from "./pages/DashboardPage";
import { ExplorerPage } from "./pages/ExplorerPage";
import { HomePage } from "./pages/HomePage";
import { ContactPage, ReturnsPage, ShippingPage } from "./pages/InfoPages";
import { NotFoundPage } from "./pages/NotFoundPage";
import { OrderDetailPage } from "./pages/OrderDetailPage";
import { OrdersPage } from "./pages/OrdersPage";
import { ProductPage } from "./pages/ProductPage";
import { ShopProvider } from "./state/shop";

/** Opting in to React Router 7 behaviour now keeps the console free of its warnings. */
export const ROUTER_FUTURE = { v7_startTransition: true, v7_relativeSplatPath: true };

export function AppRoutes() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<HomePage />} />
        <Route path="catalog" element={<CatalogPage />} />
        <Route path="product/:id" element={<ProductPage />} />
        <Route path="checkout" element={<CheckoutPage />} />
        <Route path="orders" element={<OrdersPage />} />
        <Route path="orders/:orderId" element={<OrderDetailPage />} />
        <Route path="ops/dashboard" element={<OperatorGate title="Live dashboard"><DashboardPage /></OperatorGate>} />
        <Route path="ops/admin" element={<OperatorGate title="Admin"><AdminPage /></OperatorGate>} />
        <Route path="ops/events" element={<OperatorGate title="Event explorer"><ExplorerPage /></OperatorGate>} />
        <Route path="shipping" element={<ShippingPage />} />
        <Route path="returns" element={<ReturnsPage />} />
        <Route path="contact" element={<ContactPage />} />
        <Route path="ops/products" element={<OperatorGate title="Products"><ProductsAdminPage /></OperatorGate>} />
        <Route path="ops/inventory" element={<OperatorGate title="Inventory"><InventoryPage /></OperatorGate>} />
        <Route path="account" element={<AccountPage />} />
        <Route path="wishlist" element={<WishlistPage />} />
        <Route path="reset-password" element={<ResetPasswordPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}

export function App() {
  return (
    <ShopProvider>
      <BrowserRouter future={ROUTER_FUTURE}>
        <AppRoutes />
      </BrowserRouter>
    </ShopProvider>
  );
}
