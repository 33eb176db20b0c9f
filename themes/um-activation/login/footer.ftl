<#-- Links to the self-service pages under the login form. Stable ids: tests target them.
     Not under the second-factor pages (the code, the app's set-up): those are the staff's,
     and these links are for students. -->
<#macro content>
<#if !["login-otp", "login-config-totp"]?seq_contains(pageId!"")>
<nav id="um-footer" class="um-footer" aria-label="${msg("um.footer.label")}">
  <ul>
    <li><a id="um-footer-activation" href="${properties.umBridgeUrl}/activation">${msg("um.footer.activation")}</a></li>
    <li><a id="um-footer-lost-password" href="${properties.umBridgeUrl}/lost-password">${msg("um.footer.lostPassword")}</a></li>
    <li><a id="um-footer-help" href="${properties.umBridgeUrl}/help">${msg("um.footer.help")}</a></li>
  </ul>
</nav>
</#if>
</#macro>
