/** Vite build of the KartShoppe web app; in dev, API and WebSocket calls go to a local server. */
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";
import { precompress } from "./precompress";

const target = process.env.KARTSHOPPE_API ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react(), tailwindcss(), precompress()],
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1000 },
  server: {
    proxy: {
      "/api": target,
      "/images": target,
      "/ecommerce": { target, ws: true },
    },
  },
});
