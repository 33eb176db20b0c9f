<#-- The rescue-address check (UPDATE_EMAIL) after a new password: lost password and
     activation key (seed 004 step 4). The seed's sentence is the page's first paragraph,
     above the address on file, whatever else is shown (Keycloak's page has it only in its
     message banner, which an error replaces). The address is checked by the user profile
     (the realm set-up's rule: no university address). -->
<#import "template.ftl" as layout>
<#import "password-commons.ftl" as passwordCommons>
<#import "user-profile-commons.ftl" as userProfileCommons>
<#import "buttons.ftl" as buttons>
<#-- Keycloak's own banner repeats updateEmailMessage as a warning: the paragraph below
     says it, so the banner is kept for other messages only. -->
<#assign routine = message?? && message.summary == msg("updateEmailMessage")>
<@layout.registrationLayout displayMessage=(messagesPerField.exists('global') && !routine) displayRequiredFields=false; section>
    <#if section = "header">
        ${msg("updateEmailTitle")}
    <#elseif section = "form">
        <p id="um-update-email-intro">${msg("updateEmailMessage")}</p>
        <form id="kc-update-email-form" class="${properties.kcFormClass!}" action="${url.loginAction}" method="post">
            <@userProfileCommons.userProfileFormFields/>

            <div class="${properties.kcFormGroupClass!}">
                <@passwordCommons.logoutOtherSessions/>

                <@buttons.actionGroup horizontal=true>
                    <@buttons.button id="kc-submit" label="doSubmit" class=["kcButtonPrimaryClass","kcButtonBlockClass"]/>
                    <#if isAppInitiatedAction??>
                        <@buttons.button id="kc-cancel" label="doCancel" class=["kcButtonSecondaryClass","kcButtonBlockClass"] name="cancel-aia" value="true"/>
                    </#if>
                </@buttons.actionGroup>
            </div>
        </form>
    </#if>
</@layout.registrationLayout>
