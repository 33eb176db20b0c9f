<#-- The action mail (activation, lost password). States the deadline as a wall-clock time
     in Europe/Paris: the bridge sets the link's lifespan to end at 23:59:59 that day. -->
<#outputformat "plainText">
<#assign requiredActionsText><#if requiredActions??><#list requiredActions><#items as reqActionItem>${msg("requiredAction.${reqActionItem}")}<#sep>, </#sep></#items></#list></#if></#assign>
</#outputformat>
<#setting time_zone="Europe/Paris">
<#assign deadline = (.now?long + linkExpiration * 60000)?number_to_datetime>
<#import "template.ftl" as layout>
<@layout.emailLayout>
${kcSanitize(msg("um.executeActions.bodyHtml", link, deadline?string("HH"), deadline?string("dd/MM/yyyy"), realmName, requiredActionsText, linkExpirationFormatter(linkExpiration), deadline?string("mm")))?no_esc}
</@layout.emailLayout>
