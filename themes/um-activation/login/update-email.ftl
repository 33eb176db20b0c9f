<#-- The rescue-address check (UPDATE_EMAIL) after a new password: lost password and
     activation key (seed 004 step 4). Keycloak's page shows its message only beside a
     global error; the seed's sentence is shown here always, above the address on file.
     The address is checked by the user profile (realm set-up: no university address). -->
<#import "template.ftl" as layout>
<#import "password-commons.ftl" as passwordCommons>
<#import "user-profile-commons.ftl" as userProfileCommons>
<#import "buttons.ftl" as buttons>
<@layout.registrationLayout displayMessage=messagesPerField.exists('global') displayRequiredFields=false; section>
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
