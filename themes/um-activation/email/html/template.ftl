<#-- The HTML mails' frame: keycloak's base email template.ftl (Keycloak 26.5.6) plus a head
     with the charset and a title, which mail clients that render HTML (and screen readers
     in webmail) announce; without it the document has no name (axe: serious
     `document-title`, WCAG 2.4.2). -->
<#macro emailLayout>
<html lang="${locale.language}" dir="${(ltr)?then('ltr','rtl')}">
<head>
<meta charset="utf-8">
<title>${msg("um.email.title", realmName)}</title>
</head>
<body>
    <#nested>
</body>
</html>
</#macro>
