import type { Api } from "./client";

/** The API's OAuth2 password form: `username` is the email. */
export function requestToken(api: Api, email: string, password: string) {
  return api.POST("/api/v1/auth/login", {
    body: { username: email, password, scope: "" },
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
}
