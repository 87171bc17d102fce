import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The console is static files: served by the API at / (api/web_console.py) or from a
// CDN at the root of its own origin, reading the API's address from /config.json.
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    // Each screen is its own chunk (React.lazy); this keeps the first load small.
    chunkSizeWarningLimit: 300,
  },
  server: {
    // `npx vite` during development: the API on its default port answers /api and /v1.
    proxy: {
      "/api": "http://127.0.0.1:8000",
      "/v1": "http://127.0.0.1:8000",
    },
  },
});
