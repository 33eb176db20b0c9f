<#-- The new-password page (activation, lost password, forced change): the university's
     rules as a live checklist, a strength meter, a confirmation field. Keycloak's policy
     stays the judge; the page explains it before the server has to. -->
<#import "template.ftl" as layout>
<#import "password-commons.ftl" as passwordCommons>
<#import "field.ftl" as field>
<#import "buttons.ftl" as buttons>
<@layout.registrationLayout displayMessage=!messagesPerField.existsError('password','password-confirm'); section>
    <#if section = "header">
        ${msg("um.password.title")}
    <#elseif section = "form">
        <div id="um-password-rules" class="um-rules"
             data-min-length="${(passwordPolicies.length)!10}"
             data-username="${(auth.attemptedUsername)!''}"
             data-strength-weak="${msg("um.password.strength.weak")}"
             data-strength-medium="${msg("um.password.strength.medium")}"
             data-strength-strong="${msg("um.password.strength.strong")}"
             data-status="${msg("um.password.status")}"
             data-refused-accented="${msg("um.password.refused.accented")}"
             data-refused-char="${msg("um.password.refused.char")}"
             data-name-space="${msg("um.password.char.space")}"
             data-name-quote="${msg("um.password.char.quote")}"
             data-name-apostrophe="${msg("um.password.char.apostrophe")}"
             data-name-backslash="${msg("um.password.char.backslash")}"
             data-name-backtick="${msg("um.password.char.backtick")}"
             data-name-other="${msg("um.password.char.other")}">
            <p>${msg("um.password.intro")}</p>
            <ul id="um-checklist" class="um-checklist">
                <li id="um-rule-length" data-state="todo">${msg("um.password.rule.length", (passwordPolicies.length)!10)}</li>
                <li id="um-rule-nonalpha" data-state="todo">${msg("um.password.rule.nonAlpha")}</li>
                <li id="um-rule-accents" data-state="todo">${msg("um.password.rule.accents")}</li>
                <li id="um-rule-refused" data-state="todo">${msg("um.password.rule.refused")}</li>
                <li id="um-rule-confirm" data-state="todo">${msg("um.password.rule.confirm")}</li>
            </ul>
            <#-- The list changes as the student types; this line tells a screen reader how
                 far along they are, once per change of that count, not at every key. -->
            <p id="um-checklist-status" class="um-visually-hidden" role="status" aria-live="polite"></p>
            <p id="um-refused-detail" class="um-refused" role="status" aria-live="polite"></p>
            <p class="um-why">${msg("um.password.why")}</p>
            <#-- Seed 004: "consultez la page dédiée de la CNI"; the target is a theme
                 property (UM_PASSWORD_ADVICE_URL), the university's own page once it has one. -->
            <p id="um-password-advice">${msg("um.password.advice")} <a id="um-password-advice-link" class="um-link" href="${properties.umPasswordAdviceUrl!}" target="_blank" rel="noopener">${msg("um.password.adviceLink")}</a>.</p>
        </div>
        <form id="kc-passwd-update-form" class="${properties.kcFormClass!}" action="${url.loginAction}" method="post" novalidate="novalidate">
            <@field.password name="password-new" label=msg("passwordNew") fieldName="password" autocomplete="new-password" autofocus=true>
                <div id="um-strength" class="um-strength" data-level="none" aria-live="polite">
                    <span class="um-strength-label">${msg("um.password.strength")}</span>
                    <span class="um-strength-bar" aria-hidden="true"><span></span><span></span><span></span></span>
                    <span id="um-strength-value" class="um-strength-value">—</span>
                </div>
            </@field.password>
            <@field.password name="password-confirm" label=msg("passwordConfirm") autocomplete="new-password" />

            <div class="${properties.kcFormGroupClass!}">
                <@passwordCommons.logoutOtherSessions/>
            </div>

            <@buttons.actionGroup horizontal=true>
                <#if isAppInitiatedAction??>
                    <@buttons.button id="kc-submit" name="login" label="doSubmit" class=["kcButtonPrimaryClass"]/>
                    <@buttons.button id="kc-cancel" label="doCancel" name="cancel-aia" class=["kcButtonSecondaryClass"]/>
                <#else>
                    <@buttons.button id="kc-submit" name="login" label="doSubmit" class=["kcButtonPrimaryClass", "kcButtonBlockClass"]/>
                </#if>
            </@buttons.actionGroup>
        </form>
        <script src="${url.resourcesPath}/vendor/zxcvbn-ts/core.js"></script>
        <script src="${url.resourcesPath}/vendor/zxcvbn-ts/language-common.js"></script>
        <script src="${url.resourcesPath}/vendor/zxcvbn-ts/language-fr.js"></script>
        <script src="${url.resourcesPath}/js/um-password.js"></script>
    </#if>
</@layout.registrationLayout>
