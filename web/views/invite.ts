import type { ChatClient } from "../../src/client";
import { busy, field, h, show } from "../dom";
import { errorText, longTime } from "../format";

/**
 * The invite dialog (owners and admins): creates a link, shows it with a copy button and its QR
 * code. A native modal <dialog> traps focus, closes on Escape and gives focus back to the button
 * that opened it.
 */
export function openInviteDialog(
  client: ChatClient,
  room: { id: string; name: string },
  opener: HTMLElement,
): void {
  const expires = h(
    "select",
    { name: "expires" },
    h("option", { value: "24" }, "1 day"),
    h("option", { value: "168", selected: true }, "7 days"),
    h("option", { value: "720" }, "30 days"),
  );
  const maxUses = h(
    "select",
    { name: "maxUses" },
    h("option", { value: "", selected: true }, "No limit"),
    h("option", { value: "1" }, "1 person"),
    h("option", { value: "10" }, "10 people"),
    h("option", { value: "100" }, "100 people"),
  );
  const createButton = h("button", { type: "submit", class: "primary" }, "Create invite link");
  const error = h("p", { class: "error", role: "alert" });
  show(error, false);
  const form = h(
    "form",
    { class: "invite-options" },
    field("invite-expires", "Link expires after", expires),
    field("invite-max-uses", "Can be used by", maxUses),
    createButton,
  );

  const linkInput = h("input", { type: "text", readonly: true, class: "invite-url" });
  const copyButton = h("button", { type: "button" }, "Copy link");
  const copyStatus = h("p", { class: "hint", role: "status" });
  const qr = h("img", { class: "qr", width: 220, height: 220, alt: "" });
  const details = h("p", { class: "hint" });
  const result = h(
    "div",
    { class: "invite-result" },
    h("div", { class: "copy-row" }, field("invite-url", "Invite link", linkInput), copyButton),
    copyStatus,
    h(
      "figure",
      { class: "qr-figure" },
      qr,
      h("figcaption", {}, "Scan with a phone camera to join"),
    ),
    details,
    h(
      "p",
      { class: "hint" },
      "The link is shown only now. Anyone who has it can join until it expires; create another any time.",
    ),
  );
  show(result, false);

  const closeButton = h("button", { type: "button" }, "Close");
  const dialog = h(
    "dialog",
    { class: "invite-dialog", "aria-labelledby": "invite-title" },
    h("h2", { id: "invite-title" }, `Invite people to ${room.name}`),
    form,
    error,
    result,
    h("div", { class: "dialog-actions" }, closeButton),
  );

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    show(error, false);
    void busy(createButton, "Creating…", async () => {
      try {
        const maxUsesValue = maxUses.value === "" ? null : Number(maxUses.value);
        const invite = await client.invites.create(room.id, {
          expiresInHours: Number(expires.value),
          maxUses: maxUsesValue,
        });
        linkInput.value = invite.url;
        qr.src = client.invites.qrCodeUrl(invite.token);
        qr.alt = `QR code of the invite link to ${room.name}`;
        const uses = invite.maxUses === null ? "any number of people" : `${invite.maxUses}`;
        details.textContent = `Expires ${longTime(invite.expiresAt)}. Can be used by ${uses}.`;
        copyStatus.textContent = "";
        show(result, true);
        createButton.textContent = "Create another link";
        linkInput.focus();
        linkInput.select();
      } catch (err) {
        error.textContent = errorText(err);
        show(error, true);
      }
    });
  });

  copyButton.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(linkInput.value);
      copyStatus.textContent = "Link copied.";
    } catch {
      // No clipboard permission (or an insecure origin): leave it selected for Ctrl+C.
      linkInput.focus();
      linkInput.select();
      copyStatus.textContent = "Press Ctrl+C (or Cmd+C) to copy the selected link.";
    }
  });

  closeButton.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    dialog.remove();
    opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  // The first control, not the title: the user opened this to create a link.
  expires.focus();
}
