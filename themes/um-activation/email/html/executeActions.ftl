<#-- The action mail (activation, lost password). States the deadline as a wall-clock time
     in Europe/Paris: the bridge sets the link's lifespan to end at 23:59:59 that day. -->
<#outputformat "plainText">
<#assign requiredActionsText><#if requiredActions??><#list requiredActions><#items as reqActionItem>${msg("requiredAction.${reqActionItem}")}<#sep>, </#sep></#items></#list></#if></#assign>
</#outputformat>
<#setting time_zone="Europe/Paris">
<#assign deadline = (.now?long + linkExpiration * 60000)?number_to_datetime>
<#-- Which path sent it, from the actions: only the lost-password link asks to check the
     rescue address (bridge.flows.action_links.LinkPolicy.actions; tests/integration/
     test_mail_theme.py sends each purpose's actions). Activation and the staff console
     send the password alone, or with the charter. -->
<#assign lostPassword = (requiredActions![])?seq_contains("UPDATE_EMAIL")>
<#import "template.ftl" as layout>
<@layout.emailLayout>
${kcSanitize(msg(lostPassword?then("um.executeActions.lostPassword.bodyHtml", "um.executeActions.bodyHtml"), link, deadline?string("HH"), deadline?string("dd/MM/yyyy"), realmName, requiredActionsText, linkExpirationFormatter(linkExpiration), deadline?string("mm")))?no_esc}
</@layout.emailLayout>
