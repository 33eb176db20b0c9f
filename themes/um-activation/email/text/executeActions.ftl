<#ftl output_format="plainText">
<#setting time_zone="Europe/Paris">
<#assign requiredActionsText><#if requiredActions??><#list requiredActions><#items as reqActionItem>${msg("requiredAction.${reqActionItem}")}<#sep>, </#items></#list></#if></#assign>
<#assign deadline = (.now?long + linkExpiration * 60000)?number_to_datetime>
<#-- Which path sent it, from the actions: only the lost-password link asks to check the
     rescue address (bridge.flows.action_links.LinkPolicy.actions; tests/integration/
     test_mail_theme.py sends each purpose's actions). Activation and the staff console
     send the password alone, or with the charter. -->
<#assign lostPassword = (requiredActions![])?seq_contains("UPDATE_EMAIL")>
${msg(lostPassword?then("um.executeActions.lostPassword.body", "um.executeActions.body"), link, deadline?string("HH"), deadline?string("dd/MM/yyyy"), realmName, requiredActionsText, linkExpirationFormatter(linkExpiration), deadline?string("mm"))}
