//! The panel's two languages: Brazilian Portuguese and English, chosen by the `tenantry_lang`
//! cookie (the switch in the header sets it), else by `Accept-Language`, else English.
//!
//! Every text is a key of [`Lang::t`]; a key missing from the table reads as the key itself, so a
//! forgotten translation shows rather than breaking the page.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

/// The cookie the language switch sets.
pub(crate) const COOKIE: &str = "tenantry_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    En,
    PtBr,
}

impl Lang {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::PtBr => "pt-BR",
        }
    }

    pub(crate) fn parse(code: &str) -> Option<Self> {
        let code = code.trim().to_ascii_lowercase();
        if code == "en" || code.starts_with("en-") {
            Some(Lang::En)
        } else if code == "pt" || code.starts_with("pt-") {
            Some(Lang::PtBr)
        } else {
            None
        }
    }

    /// The language of `Accept-Language` with the highest weight that the panel speaks.
    pub(crate) fn from_accept_language(value: &str) -> Option<Self> {
        let mut best: Option<(f32, Lang)> = None;
        for item in value.split(',') {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::parse) else {
                continue;
            };
            let weight = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if weight > 0.0 && best.is_none_or(|(w, _)| weight > w) {
                best = Some((weight, lang));
            }
        }
        best.map(|(_, lang)| lang)
    }

    /// The text of `key` in this language: (English, Portuguese) by key.
    pub(crate) fn t(self, key: &'static str) -> &'static str {
        let (en, pt) = match key {
            "title" => ("Tenantry", "Tenantry"),
            "tenants" => ("Tenants", "Empresas"),
            "new_tenant" => ("New tenant", "Nova Empresa"),
            "login" => ("Log in", "Entrar"),
            "logout" => ("Log out", "Sair"),
            "email" => ("E-mail", "E-mail"),
            "password" => ("Password", "Senha"),
            "login_title" => ("Log in to the panel", "Entrar no painel"),
            "session_expired" => (
                "Your session has expired or is not valid: please log in again.",
                "Sua sessão expirou ou é inválida: entre de novo.",
            ),
            "bad_form" => (
                "The form has expired (invalid CSRF token): reload the page and try again.",
                "O formulário expirou (token CSRF inválido): recarregue a página e tente de novo.",
            ),
            "name" => ("Name", "Nome"),
            "slug" => ("Slug", "Slug"),
            "plan" => ("Plan", "Plano"),
            "isolation" => ("Isolation", "Isolamento"),
            "status" => ("Status", "Status"),
            "domain_ssl" => ("Main domain / SSL", "Domínio principal / SSL"),
            "workers" => ("Active workers", "Workers ativos"),
            "infrastructure" => ("Infrastructure", "Infraestrutura"),
            "created" => ("Created", "Criada em"),
            "updated" => ("Updated", "Atualizada em"),
            "any" => ("Any", "Todos"),
            "search" => ("Search", "Buscar"),
            "search_hint" => ("name or slug", "nome ou slug"),
            "filter" => ("Filter", "Filtrar"),
            "next_page" => ("Next page", "Próxima página"),
            "first_page" => ("First page", "Primeira página"),
            "no_tenants" => ("No tenants found.", "Nenhuma empresa encontrada."),
            "live" => ("live", "ao vivo"),
            "main_domain" => ("Main domain", "Domínio principal"),
            "main_domain_note" => (
                "Custom domains are not built in Tenantry yet: the tenant is served on",
                "Domínios próprios ainda não existem no Tenantry: a empresa é servida em",
            ),
            "slug_hint" => (
                "Optional: suggested from the name.",
                "Opcional: sugerido a partir do nome.",
            ),
            "isolation_hint" => (
                "The plan's default is picked when the plan changes.",
                "O padrão do plano é escolhido ao mudar o plano.",
            ),
            "admin_email" => ("Admin email", "E-mail do administrador"),
            "create" => ("Create tenant", "Criar empresa"),
            "overview" => ("Overview", "Visão geral"),
            "provisioning" => ("Provisioning", "Provisionamento"),
            "attempt" => ("Attempt", "Tentativa"),
            "step" => ("Step", "Etapa"),
            "attempts" => ("Attempts", "Tentativas"),
            "outputs" => ("Outputs:", "Saídas:"),
            "error" => ("Error", "Erro"),
            "started" => ("Started", "Início"),
            "duration" => ("Duration", "Duração"),
            "actions" => ("Actions", "Ações"),
            "retry" => ("Retry provisioning", "Repetir provisionamento"),
            "suspend" => ("Suspend", "Suspender"),
            "reason" => ("Reason (optional)", "Motivo (opcional)"),
            "reactivate" => ("Reactivate", "Reativar"),
            "rotate" => ("Rotate credentials", "Trocar credenciais"),
            "migrations" => ("Migrations", "Migrações"),
            "fleet" => (
                "Tenant migrations across the fleet",
                "Migrações das empresas",
            ),
            "target_version" => ("Newest version", "Versão mais recente"),
            "behind" => ("Behind", "Atrasadas"),
            "version_unknown" => ("Version not recorded", "Versão não registrada"),
            "no_fleet" => (
                "No tenant holds a schema or database yet.",
                "Nenhuma empresa tem esquema ou banco ainda.",
            ),
            "fleet_hint" => (
                "Run, pause and resume with tenantry migrations apply | pause | resume.",
                "Execute, pause e retome com tenantry migrations apply | pause | resume.",
            ),
            "latest_run" => ("Latest run", "Última execução"),
            "no_run" => (
                "No fleet migration has run yet.",
                "Nenhuma migração foi executada ainda.",
            ),
            "run" => ("Run", "Execução"),
            "progress" => ("Progress", "Progresso"),
            "migrated" => ("migrated", "migradas"),
            "failed_count" => ("failed", "com falha"),
            "total_count" => ("in all", "no total"),
            "finished" => ("Finished", "Terminou"),
            "st_paused" => ("paused", "pausada"),
            "grace" => (
                "Old passwords work for (seconds)",
                "Senhas antigas valem por (segundos)",
            ),
            "credentials" => ("Credentials", "Credenciais"),
            "rotation" => ("rotation", "troca"),
            "cred_applying" => ("new passwords being applied", "aplicando as novas senhas"),
            "cred_in_grace" => ("old passwords work until", "senhas antigas valem até"),
            "cred_done" => ("old passwords retired", "senhas antigas revogadas"),
            "bad_grace" => (
                "The grace period must be a whole number of seconds from 0 to 604800.",
                "A carência deve ser um número inteiro de segundos de 0 a 604800.",
            ),
            "suspension" => ("Suspended", "Suspensa"),
            "suspension_reason" => ("Reason", "Motivo"),
            "no_reason" => ("none given", "nenhum informado"),
            "access_off" => ("Access switched off", "Acesso desligado"),
            "access_pending" => ("switching…", "alterando…"),
            "delete" => ("Delete", "Excluir"),
            "delete_confirm" => (
                "Type the tenant's slug to confirm the deletion",
                "Digite o slug da empresa para confirmar a exclusão",
            ),
            "delete_mismatch" => (
                "What you typed is not the tenant's slug: nothing was deleted.",
                "O texto digitado não é o slug da empresa: nada foi excluído.",
            ),
            "refused" => ("Refused", "Recusado"),
            "done" => ("Done.", "Feito."),
            "history" => ("Event history", "Histórico de eventos"),
            "position" => ("Position", "Posição"),
            "version" => ("Version", "Versão"),
            "event" => ("Event", "Evento"),
            "actor" => ("Actor", "Autor"),
            "correlation" => ("Correlation", "Correlação"),
            "when" => ("When", "Quando"),
            "invitation" => (
                "Admin invitation token",
                "Token de convite do administrador",
            ),
            "invitation_once" => (
                "Copy it now: it will not be shown again.",
                "Copie agora: ele não será mostrado de novo.",
            ),
            "copy" => ("Copy", "Copiar"),
            "copied" => ("Copied", "Copiado"),
            "worker_instructions" => (
                "The tenant's worker reads the queue",
                "O worker da empresa lê a fila",
            ),
            "default_host" => ("Default host", "Endereço padrão"),
            "rollback" => (
                "Provisioning failed: what it had made was rolled back (steps marked \"released\").",
                "O provisionamento falhou: os recursos criados foram desfeitos (etapas \"liberadas\").",
            ),
            "rolling_back" => ("Rolling back…", "Desfazendo o provisionamento…"),
            "not_found" => ("No such tenant.", "Empresa não encontrada."),
            "slug_available" => ("available", "disponível"),
            "slug_taken" => ("taken", "já em uso"),
            "language" => ("Language", "Idioma"),
            "skip" => ("Skip to content", "Pular para o conteúdo"),
            "page_error" => ("Something went wrong", "Algo deu errado"),
            "not_yet" => ("—", "—"),
            "audit" => ("Audit", "Auditoria"),
            "audit_title" => ("Audit log", "Registro de auditoria"),
            "audit_intro" => (
                "Every event of the log, newest first. Times are UTC.",
                "Todos os eventos do registro, do mais recente ao mais antigo. Horários em UTC.",
            ),
            "f_tenant" => ("Tenant (id or slug)", "Empresa (id ou slug)"),
            "f_actor_hint" => (
                "As shown, e.g. staff:ops@example.com or saga:provisioning",
                "Como aparece, ex.: staff:ops@example.com ou saga:provisioning",
            ),
            "f_event_type" => ("Event type", "Tipo de evento"),
            "f_from" => ("From (UTC)", "De (UTC)"),
            "f_to" => ("Until (UTC, excluded)", "Até (UTC, exclusive)"),
            "f_correlation" => ("Request (correlation id)", "Requisição (id de correlação)"),
            "per_page" => ("Per page", "Por página"),
            "clear_filters" => ("Clear filters", "Limpar filtros"),
            "no_entries" => (
                "No event matches these filters.",
                "Nenhum evento corresponde a esses filtros.",
            ),
            "newest_page" => ("Newest events", "Eventos mais recentes"),
            "older_page" => ("Older events", "Eventos mais antigos"),
            "stream" => ("Stream", "Stream"),
            "tenant" => ("Tenant", "Empresa"),
            "request" => ("Request", "Requisição"),
            "request_events" => ("This request's events", "Eventos desta requisição"),
            "request_title" => ("Events of one request", "Eventos de uma requisição"),
            "request_intro" => (
                "What one request led to (its correlation id): the command's own events and what the sagas did because of it, oldest first.",
                "O que uma requisição causou (seu id de correlação): os eventos do próprio comando e o que as sagas fizeram por causa dele, do mais antigo ao mais recente.",
            ),
            "in_audit" => (
                "The same in the audit page",
                "O mesmo na página de auditoria",
            ),
            "back_to_tenant" => ("Back to the tenant", "Voltar à empresa"),
            "bad_time" => (
                "not a date and time (YYYY-MM-DDTHH:MM, UTC)",
                "não é uma data e hora (AAAA-MM-DDTHH:MM, UTC)",
            ),
            "bad_uuid" => ("not a UUID", "não é um UUID"),
            "bad_event_type" => (
                "not an event type Tenantry writes",
                "não é um tipo de evento que o Tenantry grava",
            ),
            "bad_limit" => (
                "must be a whole number from 1 to 200",
                "deve ser um número inteiro de 1 a 200",
            ),
            "bad_cursor" => (
                "this page link was not made by the panel: start again from the newest events",
                "este link de página não foi feito pelo painel: recomece pelos eventos mais recentes",
            ),
            "unknown_tenant" => (
                "no tenant has this id, and no live tenant has this slug",
                "nenhuma empresa tem esse id, e nenhuma empresa ativa tem esse slug",
            ),
            "time_travel_hint" => (
                "Click a version to see the tenant as its events up to that one describe it (state at this point).",
                "Clique numa versão para ver a empresa como seus eventos até ali a descrevem (estado neste ponto).",
            ),
            "state_at" => ("State at version", "Estado na versão"),
            "state_at_link" => ("State at version", "Estado na versão"),
            "state_after" => ("after", "depois de"),
            "back_to_now" => ("Back to now", "Voltar ao presente"),
            "state_beyond" => (
                "The tenant has fewer events than that; its stream is at version",
                "A empresa tem menos eventos que isso; seu stream está na versão",
            ),
            "bad_version" => (
                "at: must be a stream version, a whole number from 1",
                "at: deve ser uma versão do stream, um número inteiro a partir de 1",
            ),
            "state_note" => (
                "Folded by the domain from the tenant's events up to this version: what Tenantry knew then. The live overview above shows now.",
                "Calculado pelo domínio a partir dos eventos da empresa até esta versão: o que o Tenantry sabia então. A visão geral acima mostra o presente.",
            ),
            "held" => ("Resources held", "Recursos mantidos"),
            "domains" => ("Domains", "Domínios"),
            "steps" => ("Steps", "Etapas"),
            "last_error" => ("Last error", "Último erro"),
            "next_retry" => ("Next retry", "Próxima tentativa"),
            "by_status" => ("Tenants by status", "Empresas por status"),
            "total" => ("Total", "Total"),
            "failures_24h" => (
                "Provisioning failures in the last 24 hours",
                "Falhas de provisionamento nas últimas 24 horas",
            ),
            "failures_intro" => (
                "Provisioning attempts that ended rolled back, newest first, with each tenant's status now.",
                "Tentativas de provisionamento que terminaram desfeitas, da mais recente à mais antiga, com o status atual de cada empresa.",
            ),
            "no_failures" => (
                "No provisioning failed in the last 24 hours.",
                "Nenhum provisionamento falhou nas últimas 24 horas.",
            ),
            "failures_all" => (
                "All of them in the audit page",
                "Todas na página de auditoria",
            ),
            "step_failures_link" => (
                "Every failed try of a step in the last 24 hours (retried or not), in the audit page",
                "Cada tentativa com falha de uma etapa nas últimas 24 horas (repetida ou não), na página de auditoria",
            ),
            "status_now" => ("Status now", "Status agora"),
            "failed_at" => ("Failed at", "Falhou em"),
            "kpis" => ("Cross-tenant KPIs", "KPIs entre empresas"),
            "kpis_note" => (
                "Cross-tenant KPIs (conversations by tenant and the rest) come with Analytics, which is not built yet: there is no chart here until it is.",
                "Os KPIs entre empresas (conversas por empresa e os demais) chegam com o Analytics, que ainda não foi construído: não há gráfico aqui até lá.",
            ),
            "st_pending" => ("pending", "pendente"),
            "st_provisioning" => ("provisioning", "provisionando"),
            "st_active" => ("active", "ativa"),
            "st_suspended" => ("suspended", "suspensa"),
            "st_failed" => ("failed", "falhou"),
            "st_deleting" => ("deleting", "excluindo"),
            "st_deleted" => ("deleted", "excluída"),
            "st_running" => ("running", "executando"),
            "st_retrying" => ("retrying", "repetindo"),
            "st_retry_scheduled" => ("retry scheduled", "repetição agendada"),
            "st_succeeded" => ("done", "concluída"),
            "st_completed" => ("completed", "concluído"),
            "st_skipped" => ("skipped", "pulada"),
            "st_released" => ("released (rolled back)", "liberada (desfeita)"),
            "st_rolling_back" => ("rolling back", "desfazendo"),
            "st_not_started" => ("not started", "não iniciado"),
            other => (other, other),
        };
        if self == Lang::PtBr { pt } else { en }
    }

    /// A status word (tenant, provisioning or step) in this language.
    pub(crate) fn status(self, status: &str) -> String {
        let key = match status {
            "pending" => "st_pending",
            "provisioning" => "st_provisioning",
            "active" => "st_active",
            "suspended" => "st_suspended",
            "failed" => "st_failed",
            "deleting" => "st_deleting",
            "deleted" => "st_deleted",
            "running" => "st_running",
            "retrying" => "st_retrying",
            "retry_scheduled" => "st_retry_scheduled",
            "succeeded" => "st_succeeded",
            "completed" => "st_completed",
            "paused" => "st_paused",
            "skipped" => "st_skipped",
            "released" => "st_released",
            "rolling_back" => "st_rolling_back",
            "not_started" => "st_not_started",
            other => return other.to_owned(),
        };
        self.t(key).to_owned()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(lang) =
            super::session::cookie(&parts.headers, COOKIE).and_then(|c| Lang::parse(&c))
        {
            return Ok(lang);
        }
        Ok(parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Lang::from_accept_language)
            .unwrap_or(Lang::En))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_heaviest_known_language() {
        assert_eq!(
            Lang::from_accept_language("pt-BR,pt;q=0.9,en;q=0.8"),
            Some(Lang::PtBr)
        );
        assert_eq!(
            Lang::from_accept_language("fr, en;q=0.5, pt;q=0.4"),
            Some(Lang::En)
        );
        assert_eq!(Lang::from_accept_language("de"), None);
        assert_eq!(
            Lang::from_accept_language("pt;q=0, en-GB;q=0.1"),
            Some(Lang::En)
        );
    }
}
