<#-- The IT charter (TERMS_AND_CONDITIONS), shown in full from charter/charter_<lang>.ftl,
     files a deployment replaces (docs/keycloak.md, "The IT charter").
     Keycloak records only the time of acceptance (the user's terms_and_conditions
     attribute); the version is the one the realm set-up (`bridge realm setup`) recorded as
     in force then. So acceptance is offered only while the file shown is that version: a
     charter file replaced without the set-up run again must not be accepted under the
     previous version's name. -->
<#import "template.ftl" as layout>
<#import "buttons.ftl" as buttons>
<#assign charterLanguage = ((locale.currentLanguageTag)!"fr")?starts_with("en")?then("en", "fr")>
<@layout.registrationLayout displayMessage=false; section>
    <#if section = "header">
        ${msg("termsTitle")}
    <#elseif section = "form">
        <p id="um-charter-intro">${msg("um.charter.intro")}</p>
        <section id="um-charter" class="um-charter pf-v5-c-content" aria-labelledby="kc-page-title">
            <#include "charter/charter_${charterLanguage}.ftl">
        </section>
        <#assign shownVersion = charterVersion!"">
        <p id="um-charter-version" class="um-charter-version">${msg("um.charter.version", shownVersion)}</p>
        <#if shownVersion?has_content && msg("um.charter.recordedVersion") == shownVersion>
            <form id="um-charter-form" class="${properties.kcFormClass!}" action="${url.loginAction}" method="POST">
                <@buttons.actionGroup horizontal=true>
                    <@buttons.button name="accept" id="kc-accept" label="um.charter.accept" class=["kcButtonPrimaryClass"]/>
                    <@buttons.button name="cancel" id="kc-decline" label="um.charter.decline" class=["kcButtonSecondaryClass"]/>
                </@buttons.actionGroup>
            </form>
        <#else>
            <div id="um-charter-unavailable" class="${properties.kcAlertClass!} pf-m-danger" role="alert">
                <p class="${properties.kcAlertTitleClass!}">${msg("um.charter.unavailable")}</p>
            </div>
        </#if>
    </#if>
</@layout.registrationLayout>
