import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router";
import { App } from "./App";
import { initApi } from "./api/client";
import { loadConfig } from "./api/config";
import "./styles.css";

// The API's address is a runtime setting (config.json), read before the first render.
loadConfig().then((config) => {
  initApi(config);
  createRoot(document.getElementById("root")!).render(
    <StrictMode>
      <BrowserRouter>
        <App />
      </BrowserRouter>
    </StrictMode>,
  );
});
