/**
 * The interactive API reference at /docs: Swagger UI rendering /openapi.json. Its script and
 * stylesheet are served from this Worker's static assets (public/vendor, copied from
 * swagger-ui-dist at install), so the page works offline and loads nothing from a CDN.
 */
export function docsPage(specUrl: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Edge chat backend: API reference</title>
<link rel="stylesheet" href="/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({ url: ${JSON.stringify(specUrl)}, dom_id: "#swagger-ui", deepLinking: true });
</script>
</body>
</html>`;
}
