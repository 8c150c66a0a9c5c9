import { renderSVG } from "uqr";

/**
 * How invite QR codes are drawn: error correction M (survives a scuffed print or a glare on a
 * screen) and the 4-module quiet zone the QR spec asks for, so phone scanners lock on reliably.
 * Exported so tests can rebuild the expected matrix with uqr's `encode`.
 */
export const QR_OPTIONS = { ecc: "M", border: 4, pixelSize: 8 } as const;

export function renderQrSvg(text: string): string {
  return renderSVG(text, QR_OPTIONS);
}
