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
