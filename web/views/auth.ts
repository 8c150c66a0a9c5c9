import type { AuthResult, ChatClient, User } from "../../src/client";
import { busy, field, h, show } from "../dom";
import { errorText } from "../format";

export interface AuthPanelOptions {
  client: ChatClient;
  /** The panel's heading; an h1 on the sign-in page, an h2 inside the join page. */
  heading: string;
  headingLevel: "h1" | "h2";
  intro?: string;
  onSignedIn(user: User): void;
}

type Mode = "login" | "register";

/**
 * Sign in, sign up, or continue as a guest. The two account forms share one place (a toggle
 * switches them, with aria-pressed); the guest form is always visible below, as it is the
 * quickest way in.
 */
export function authPanel(options: AuthPanelOptions): { el: HTMLElement; focus(): void } {
  const { client } = options;
  const heading = h(options.headingLevel, { id: "auth-title", tabindex: -1 }, options.heading);
  const error = h("p", { class: "error", role: "alert" });
  show(error, false);

  const loginTab = h("button", { type: "button", "aria-pressed": "true" }, "Log in");
  const registerTab = h("button", { type: "button", "aria-pressed": "false" }, "Sign up");

  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true });
  const password = h("input", {
    type: "password",
    name: "password",
    autocomplete: "current-password",
    required: true,
    maxlength: 256,
  });
  const displayName = h("input", {
    type: "text",
    name: "displayName",
    autocomplete: "nickname",
    maxlength: 64,
  });
  const nameField = field("auth-name", "Display name", displayName);
  const passwordField = field("auth-password", "Password", password, "At least 8 characters.");
  const passwordHint = passwordField.querySelector(".hint");
  const submit = h("button", { type: "submit", class: "primary" }, "Log in");
  const accountForm = h(
    "form",
    { class: "stack", "aria-labelledby": "auth-form-title", novalidate: false },
    h("h2", { id: "auth-form-title", class: "visually-hidden" }, "Log in"),
    nameField,
    field("auth-email", "Email", email),
    passwordField,
    submit,
  );

  const guestName = h("input", {
    type: "text",
    name: "guestName",
    autocomplete: "nickname",
    maxlength: 64,
    placeholder: "Optional",
  });
  const guestSubmit = h("button", { type: "submit" }, "Continue as guest");
  const guestForm = h(
    "form",
    { class: "stack", "aria-labelledby": "guest-title" },
    h("h2", { id: "guest-title" }, "Just looking?"),
    h(
      "p",
      { class: "hint" },
      "Chat without an account. You can keep your rooms by signing up later.",
    ),
    field("guest-name", "Display name", guestName),
    guestSubmit,
  );

  let mode: Mode = "login";
  const setMode = (next: Mode) => {
    mode = next;
    const register = mode === "register";
    loginTab.setAttribute("aria-pressed", String(!register));
    registerTab.setAttribute("aria-pressed", String(register));
    show(nameField, register);
    // The length rule is only news when choosing a password; a hidden hint would still be read.
    if (passwordHint instanceof HTMLElement) {
      show(passwordHint, register);
      if (register) {
        password.setAttribute("aria-describedby", passwordHint.id);
      } else {
        password.removeAttribute("aria-describedby");
      }
    }
    displayName.required = register;
    password.autocomplete = register ? "new-password" : "current-password";
    password.minLength = register ? 8 : 0;
    const title = register ? "Create an account" : "Log in";
    const formTitle = accountForm.querySelector("h2");
    if (formTitle) {
      formTitle.textContent = title;
    }
    submit.textContent = register ? "Create account" : "Log in";
    show(error, false);
  };
  setMode("login");
  loginTab.addEventListener("click", () => {
    setMode("login");
    email.focus();
  });
  registerTab.addEventListener("click", () => {
    setMode("register");
    displayName.focus();
  });

  const finish = async (p: Promise<AuthResult>) => {
    show(error, false);
    try {
      const result = await p;
      options.onSignedIn(result.user);
    } catch (e) {
      error.textContent = errorText(e);
      show(error, true);
    }
  };

  accountForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const creds = { email: email.value.trim(), password: password.value };
    void busy(submit, mode === "register" ? "Creating account…" : "Logging in…", () =>
      finish(
        mode === "register"
          ? client.auth.register({ ...creds, displayName: displayName.value.trim() })
          : client.auth.login(creds),
      ),
    );
  });
  guestForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const name = guestName.value.trim();
    void busy(guestSubmit, "Starting…", () =>
      finish(client.auth.guest(name ? { displayName: name } : {})),
    );
  });

  const el = h(
    "section",
    { class: "auth card", "aria-labelledby": "auth-title" },
    heading,
    options.intro ? h("p", {}, options.intro) : null,
    h("div", { class: "toggle", role: "group", "aria-label": "Account" }, loginTab, registerTab),
    accountForm,
    error,
    h("div", { class: "divider", "aria-hidden": "true" }, "or"),
    guestForm,
  );
  return { el, focus: () => heading.focus() };
}
