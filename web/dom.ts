/**
 * A few DOM helpers. Everything a user typed reaches the page as a text node or an attribute
 * value, never as markup: there is no innerHTML anywhere in web/, so a message like
 * `<img onerror=...>` is shown as the characters it is.
 */

export type Child = Node | string | number | null | undefined | false;
export type AttrValue = string | number | boolean | null | undefined;

/**
 * Creates an element. `attrs` are set with setAttribute (`true` gives an empty attribute,
 * `false`/null/undefined leave it out); string children become text nodes.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, AttrValue> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === true) {
      el.setAttribute(name, "");
    } else if (value !== false && value !== null && value !== undefined) {
      el.setAttribute(name, String(value));
    }
  }
  append(el, ...children);
  return el;
}

/** Appends children (strings as text nodes). */
export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    parent.appendChild(
      typeof child === "string" || typeof child === "number"
        ? document.createTextNode(String(child))
        : child,
    );
  }
}

/** Replaces all children. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** Sets or removes the `hidden` attribute. */
export function show(el: HTMLElement, visible: boolean): void {
  el.hidden = !visible;
}

/** Finds a required element by selector inside `root`; a missing one is a programming error. */
export function must<T extends Element>(root: ParentNode, selector: string): T {
  const el = root.querySelector<T>(selector);
  if (!el) {
    throw new Error(`missing element ${selector}`);
  }
  return el;
}

/**
 * Says something to screen readers through the page's polite live region. The text is cleared
 * first so that saying the same thing twice is heard twice.
 */
export function announce(text: string): void {
  const region = document.getElementById("announcer");
  if (!region) {
    return;
  }
  region.textContent = "";
  // A separate task, so assistive tech sees a change even when the text repeats.
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

/** A label + input pair with matching ids, for forms. */
export function field(
  id: string,
  label: string,
  input: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement,
  hint?: string,
): HTMLDivElement {
  input.id = id;
  const hintEl = hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null;
  if (hintEl) {
    input.setAttribute("aria-describedby", hintEl.id);
  }
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hintEl);
}

/** A button that runs an async action, disabled (with a busy label) while it runs. */
export function busy<T>(button: HTMLButtonElement, busyLabel: string, run: () => Promise<T>) {
  const label = button.textContent ?? "";
  button.disabled = true;
  button.textContent = busyLabel;
  return run().finally(() => {
    button.disabled = false;
    button.textContent = label;
  });
}
