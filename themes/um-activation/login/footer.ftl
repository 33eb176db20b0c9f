<#-- Links to the self-service pages under the login form. Stable ids: tests target them.
     Not under the second-factor pages (the code, the app's set-up): those are the staff's,
     and these links are for students. -->
<#macro content>
<#if !["login-otp", "login-config-totp"]?seq_contains(pageId!"")>
<#-- The bridge opens in the language this page is in (its ?lang=; bridge/web/locales.py):
     Keycloak's language cookie lives on Keycloak's host, which the bridge cannot read. -->
<#assign umLang = "">
<#if locale?? && locale.currentLanguageTag??>
  <#assign umLang = "?lang=" + locale.currentLanguageTag?url('UTF-8')>
</#if>
<nav id="um-footer" class="um-footer" aria-label="${msg("um.footer.label")}">
  <ul>
    <li><a id="um-footer-activation" href="${properties.umBridgeUrl}/activation${umLang}">${msg("um.footer.activation")}</a></li>
    <li><a id="um-footer-lost-password" href="${properties.umBridgeUrl}/lost-password${umLang}">${msg("um.footer.lostPassword")}</a></li>
    <li><a id="um-footer-forgot-identifier" href="${properties.umBridgeUrl}/forgot-identifier${umLang}">${msg("um.footer.forgotIdentifier")}</a></li>
    <li><a id="um-footer-help" href="${properties.umBridgeUrl}/help${umLang}">${msg("um.footer.help")}</a></li>
  </ul>
</nav>
</#if>
</#macro>
