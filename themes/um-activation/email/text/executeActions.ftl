<#ftl output_format="plainText">
<#setting time_zone="Europe/Paris">
<#assign requiredActionsText><#if requiredActions??><#list requiredActions><#items as reqActionItem>${msg("requiredAction.${reqActionItem}")}<#sep>, </#items></#list></#if></#assign>
<#assign deadline = (.now?long + linkExpiration * 60000)?number_to_datetime>
${msg("um.executeActions.body", link, deadline?string("HH"), deadline?string("dd/MM/yyyy"), realmName, requiredActionsText, linkExpirationFormatter(linkExpiration), deadline?string("mm"))}
