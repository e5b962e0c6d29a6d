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

    /// The text of `key` in this language.
    pub(crate) fn t(self, key: &'static str) -> &'static str {
        let pt = self == Lang::PtBr;
        match key {
            "title" => "Tenantry",
            "tenants" => if pt { "Empresas" } else { "Tenants" },
            "new_tenant" => if pt { "Nova Empresa" } else { "New tenant" },
            "login" => if pt { "Entrar" } else { "Log in" },
            "logout" => if pt { "Sair" } else { "Log out" },
            "email" => "E-mail",
            "password" => if pt { "Senha" } else { "Password" },
            "login_title" => if pt { "Entrar no painel" } else { "Log in to the panel" },
            "session_expired" => if pt {
                "Sua sessão expirou ou é inválida: entre de novo."
            } else {
                "Your session has expired or is not valid: please log in again."
            },
            "bad_form" => if pt {
                "O formulário expirou (token CSRF inválido): recarregue a página e tente de novo."
            } else {
                "The form has expired (invalid CSRF token): reload the page and try again."
            },
            "name" => if pt { "Nome" } else { "Name" },
            "slug" => "Slug",
            "plan" => if pt { "Plano" } else { "Plan" },
            "isolation" => if pt { "Isolamento" } else { "Isolation" },
            "status" => "Status",
            "domain_ssl" => if pt { "Domínio principal / SSL" } else { "Main domain / SSL" },
            "workers" => if pt { "Workers ativos" } else { "Active workers" },
            "infrastructure" => if pt { "Infraestrutura" } else { "Infrastructure" },
            "created" => if pt { "Criada em" } else { "Created" },
            "updated" => if pt { "Atualizada em" } else { "Updated" },
            "any" => if pt { "Todos" } else { "Any" },
            "search" => if pt { "Buscar" } else { "Search" },
            "search_hint" => if pt { "nome ou slug" } else { "name or slug" },
            "filter" => if pt { "Filtrar" } else { "Filter" },
            "next_page" => if pt { "Próxima página" } else { "Next page" },
            "first_page" => if pt { "Primeira página" } else { "First page" },
            "no_tenants" => if pt { "Nenhuma empresa encontrada." } else { "No tenants found." },
            "live" => if pt { "ao vivo" } else { "live" },
            "main_domain" => if pt { "Domínio principal" } else { "Main domain" },
            "main_domain_note" => if pt {
                "Domínios próprios ainda não existem no Tenantry: a empresa é servida em"
            } else {
                "Custom domains are not built in Tenantry yet: the tenant is served on"
            },
            "slug_hint" => if pt {
                "Opcional: sugerido a partir do nome."
            } else {
                "Optional: suggested from the name."
            },
            "isolation_hint" => if pt {
                "O padrão do plano é escolhido ao mudar o plano."
            } else {
                "The plan's default is picked when the plan changes."
            },
            "admin_email" => if pt { "E-mail do administrador" } else { "Admin email" },
            "create" => if pt { "Criar empresa" } else { "Create tenant" },
            "overview" => if pt { "Visão geral" } else { "Overview" },
            "provisioning" => if pt { "Provisionamento" } else { "Provisioning" },
            "attempt" => if pt { "Tentativa" } else { "Attempt" },
            "step" => if pt { "Etapa" } else { "Step" },
            "attempts" => if pt { "Tentativas" } else { "Attempts" },
            "error" => if pt { "Erro" } else { "Error" },
            "started" => if pt { "Início" } else { "Started" },
            "duration" => if pt { "Duração" } else { "Duration" },
            "actions" => if pt { "Ações" } else { "Actions" },
            "retry" => if pt { "Repetir provisionamento" } else { "Retry provisioning" },
            "suspend" => if pt { "Suspender" } else { "Suspend" },
            "reason" => if pt { "Motivo (opcional)" } else { "Reason (optional)" },
            "reactivate" => if pt { "Reativar" } else { "Reactivate" },
            "delete" => if pt { "Excluir" } else { "Delete" },
            "delete_confirm" => if pt {
                "Digite o slug da empresa para confirmar a exclusão"
            } else {
                "Type the tenant's slug to confirm the deletion"
            },
            "delete_mismatch" => if pt {
                "O texto digitado não é o slug da empresa: nada foi excluído."
            } else {
                "What you typed is not the tenant's slug: nothing was deleted."
            },
            "refused" => if pt { "Recusado" } else { "Refused" },
            "done" => if pt { "Feito." } else { "Done." },
            "history" => if pt { "Histórico de eventos" } else { "Event history" },
            "position" => if pt { "Posição" } else { "Position" },
            "version" => if pt { "Versão" } else { "Version" },
            "event" => if pt { "Evento" } else { "Event" },
            "actor" => if pt { "Autor" } else { "Actor" },
            "correlation" => if pt { "Correlação" } else { "Correlation" },
            "when" => if pt { "Quando" } else { "When" },
            "invitation" => if pt { "Token de convite do administrador" } else { "Admin invitation token" },
            "invitation_once" => if pt {
                "Copie agora: ele não será mostrado de novo."
            } else {
                "Copy it now: it will not be shown again."
            },
            "copy" => if pt { "Copiar" } else { "Copy" },
            "copied" => if pt { "Copiado" } else { "Copied" },
            "worker_instructions" => if pt {
                "O worker da empresa lê a fila"
            } else {
                "The tenant's worker reads the queue"
            },
            "default_host" => if pt { "Endereço padrão" } else { "Default host" },
            "rollback" => if pt {
                "O provisionamento falhou: os recursos criados foram desfeitos (etapas \"liberadas\")."
            } else {
                "Provisioning failed: what it had made was rolled back (steps marked \"released\")."
            },
            "rolling_back" => if pt { "Desfazendo o provisionamento…" } else { "Rolling back…" },
            "not_found" => if pt { "Empresa não encontrada." } else { "No such tenant." },
            "slug_available" => if pt { "disponível" } else { "available" },
            "slug_taken" => if pt { "já em uso" } else { "taken" },
            "language" => if pt { "Idioma" } else { "Language" },
            "skip" => if pt { "Pular para o conteúdo" } else { "Skip to content" },
            "page_error" => if pt { "Algo deu errado" } else { "Something went wrong" },
            "not_yet" => "—",
            // Statuses.
            "st_pending" => if pt { "pendente" } else { "pending" },
            "st_provisioning" => if pt { "provisionando" } else { "provisioning" },
            "st_active" => if pt { "ativa" } else { "active" },
            "st_suspended" => if pt { "suspensa" } else { "suspended" },
            "st_failed" => if pt { "falhou" } else { "failed" },
            "st_deleting" => if pt { "excluindo" } else { "deleting" },
            "st_deleted" => if pt { "excluída" } else { "deleted" },
            "st_running" => if pt { "executando" } else { "running" },
            "st_retrying" => if pt { "repetindo" } else { "retrying" },
            "st_retry_scheduled" => if pt { "repetição agendada" } else { "retry scheduled" },
            "st_succeeded" => if pt { "concluída" } else { "done" },
            "st_completed" => if pt { "concluído" } else { "completed" },
            "st_skipped" => if pt { "pulada" } else { "skipped" },
            "st_released" => if pt { "liberada (desfeita)" } else { "released (rolled back)" },
            "st_rolling_back" => if pt { "desfazendo" } else { "rolling back" },
            "st_not_started" => if pt { "não iniciado" } else { "not started" },
            other => other,
        }
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
        if let Some(lang) = super::session::cookie(&parts.headers, COOKIE).and_then(|c| Lang::parse(&c))
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
        assert_eq!(Lang::from_accept_language("pt-BR,pt;q=0.9,en;q=0.8"), Some(Lang::PtBr));
        assert_eq!(Lang::from_accept_language("fr, en;q=0.5, pt;q=0.4"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("de"), None);
        assert_eq!(Lang::from_accept_language("pt;q=0, en-GB;q=0.1"), Some(Lang::En));
    }
}
