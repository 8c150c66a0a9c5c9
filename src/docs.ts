/**
 * The interactive API reference at /docs: Scalar's standalone bundle rendering /openapi.json.
 */
export function docsPage(specUrl: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Edge chat backend: API reference</title>
</head>
<body>
<script id="api-reference" data-url="${specUrl}"></script>
<script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference@1.72.1"></script>
</body>
</html>`;
}
