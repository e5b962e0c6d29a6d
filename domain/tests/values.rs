//! The other value objects: tenant name, email, isolation model, plan names and the plan catalog,
//! secret references.

use tenantry_domain::{
    Email, EmailError, FieldError, IsolationModel, IsolationModelError, Plan, PlanCatalog,
    PlanCatalogError, PlanLimits, PlanName, PlanNameError, Reason, ReasonError, SecretRef,
    TenantName, TenantNameError, TenantStatus, TextFault,
};

#[test]
fn tenant_name_is_trimmed_and_kept_verbatim_otherwise() {
    let name = TenantName::parse("  Clínica Dr. Marco \n").unwrap();
    assert_eq!(name.as_str(), "Clínica Dr. Marco");
    // SQL-looking text is just text here; it is stored as typed.
    let name = TenantName::parse("Robert'); DROP TABLE tenants;--").unwrap();
    assert_eq!(name.as_str(), "Robert'); DROP TABLE tenants;--");
}

#[test]
fn tenant_name_is_1_to_200_characters() {
    assert_eq!(TenantName::parse(""), Err(TenantNameError::Empty));
    assert_eq!(TenantName::parse(" \t "), Err(TenantNameError::Empty));
    assert!(TenantName::parse(&"é".repeat(200)).is_ok());
    assert_eq!(
        TenantName::parse(&"é".repeat(201)),
        Err(TenantNameError::TooLong { len: 201 })
    );
}

#[test]
fn tenant_name_has_no_control_characters() {
    for ch in ['\n', '\t', '\0', '\u{7f}', '\u{85}', '\u{2028}'] {
        let input = format!("Clínica{ch}Marco");
        assert_eq!(
            TenantName::parse(&input),
            Err(TenantNameError::Text(TextFault::Control(ch))),
            "{input:?}"
        );
    }
    assert_eq!(
        TenantName::parse("Clínica\u{202e}Marco"),
        Err(TenantNameError::Text(TextFault::Bidi('\u{202e}')))
    );
    assert_eq!(
        TenantName::parse("\u{200b}\u{200b}"),
        Err(TenantNameError::Text(TextFault::Invisible))
    );
    let error = TenantName::parse("a\u{7}b").unwrap_err();
    assert_eq!(
        error.to_string(),
        "name must not contain control characters (found U+0007)"
    );
    assert_eq!((error.field(), error.code()), ("name", "invalid_name"));
}

#[test]
fn email_accepts_the_usual_forms_and_lower_cases_the_domain() {
    let email = Email::parse("  Marco.Silva+clinic@Example.COM.br ").unwrap();
    assert_eq!(email.as_str(), "Marco.Silva+clinic@example.com.br");
    assert_eq!(email.local_part(), "Marco.Silva+clinic");
    assert_eq!(email.domain(), "example.com.br");
    assert!(Email::parse("josé@exemplo-ç.com.br").is_ok());
    assert!(Email::parse("a@b.co").is_ok());
}

#[test]
fn email_refuses_what_is_not_an_address() {
    let invalid_domain = |domain: &str, reason| EmailError::InvalidDomain {
        domain: domain.to_owned(),
        reason,
    };
    let cases = [
        ("", EmailError::Empty),
        ("marco", EmailError::MissingAt),
        ("@example.com", EmailError::EmptyLocalPart),
        (
            "marco silva@example.com",
            EmailError::InvalidLocalCharacter { ch: ' ' },
        ),
        (
            "a@b@example.com",
            EmailError::InvalidLocalCharacter { ch: '@' },
        ),
        (
            "\"quoted\"@example.com",
            EmailError::InvalidLocalCharacter { ch: '"' },
        ),
        (".marco@example.com", EmailError::MisplacedDot),
        ("mar..co@example.com", EmailError::MisplacedDot),
        ("marco@", invalid_domain("", "it is empty")),
        (
            "marco@localhost",
            invalid_domain("localhost", "it must contain a '.', as in example.com"),
        ),
        (
            "marco@example..com",
            invalid_domain(
                "example..com",
                "it must not start or end with '.' or contain \"..\"",
            ),
        ),
        (
            "marco@[127.0.0.1]",
            invalid_domain(
                "[127.0.0.1]",
                "it may contain only letters, digits, '-' and '.'",
            ),
        ),
        (
            "marco@-example.com",
            invalid_domain(
                "-example.com",
                "no part between dots may start or end with '-'",
            ),
        ),
        (
            "marco\u{202e}moc@example.com",
            EmailError::Text(TextFault::Bidi('\u{202e}')),
        ),
        (
            "mar\0co@example.com",
            EmailError::Text(TextFault::Control('\0')),
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(Email::parse(input), Err(expected), "{input:?}");
    }
    let long_local = format!("{}@example.com", "a".repeat(65));
    assert_eq!(
        Email::parse(&long_local),
        Err(EmailError::LocalPartTooLong { len: 65 })
    );
    let long = format!("a@{}.com", "b".repeat(250));
    assert_eq!(Email::parse(&long), Err(EmailError::TooLong { len: 256 }));
}

#[test]
fn what_was_recorded_before_the_text_rules_reads_back_as_recorded() {
    // A zero-width name and a bidi character before an email's '@' were accepted before the
    // shared text rules: events holding them still decode, while new input is refused.
    let name: TenantName = serde_json::from_str("\"\u{200b}\"").expect("a recorded name");
    assert_eq!(name.as_str(), "\u{200b}");
    assert!(TenantName::parse("\u{200b}").is_err());
    let email: Email =
        serde_json::from_str("\"ana\u{202e}@Example.com\"").expect("a recorded email");
    assert_eq!(email.as_str(), "ana\u{202e}@example.com");
    assert!(Email::parse("ana\u{202e}@example.com").is_err());
    // What the rules always refused is still refused.
    assert!(serde_json::from_str::<TenantName>("\"a\\nb\"").is_err());
    assert!(serde_json::from_str::<Email>("\"a b@example.com\"").is_err());
}

#[test]
fn a_reason_is_1_to_500_visible_characters_on_one_line() {
    assert_eq!(
        Reason::parse("  unpaid invoice ").map(Reason::into_inner),
        Ok("unpaid invoice".to_owned())
    );
    assert!(Reason::parse(&"é".repeat(500)).is_ok());
    assert_eq!(
        Reason::parse(&"é".repeat(501)),
        Err(ReasonError::TooLong { len: 501 })
    );
    assert_eq!(Reason::parse(" "), Err(ReasonError::Empty));
    let error = Reason::parse("unpaid\ninvoice").unwrap_err();
    assert_eq!(error, ReasonError::Text(TextFault::Control('\n')));
    assert_eq!(
        error.to_string(),
        "reason must not contain control characters (found U+000A)"
    );
    assert_eq!((error.field(), error.code()), ("reason", "invalid_reason"));
    assert_eq!(
        Reason::parse("\u{2066}x"),
        Err(ReasonError::Text(TextFault::Bidi('\u{2066}')))
    );
    assert_eq!(
        Reason::parse("\u{200b}"),
        Err(ReasonError::Text(TextFault::Invisible))
    );
}

#[test]
fn email_errors_read_well() {
    let error = Email::parse("marco").unwrap_err();
    assert_eq!(
        error.to_string(),
        "email must contain '@', as in name@example.com"
    );
    assert_eq!((error.field(), error.code()), ("email", "invalid_email"));
    assert_eq!(
        Email::parse("marco@localhost").unwrap_err().to_string(),
        "email domain \"localhost\" is not valid: it must contain a '.', as in example.com"
    );
}

#[test]
fn isolation_model_parses_and_serializes_in_snake_case() {
    for (text, model) in [
        ("shared_schema", IsolationModel::SharedSchema),
        ("schema_per_tenant", IsolationModel::SchemaPerTenant),
        ("database_per_tenant", IsolationModel::DatabasePerTenant),
    ] {
        assert_eq!(IsolationModel::parse(text), Ok(model));
        assert_eq!(text.parse::<IsolationModel>(), Ok(model));
        assert_eq!(model.to_string(), text);
        assert_eq!(
            serde_json::to_string(&model).unwrap(),
            format!("\"{text}\"")
        );
        assert_eq!(
            serde_json::from_str::<IsolationModel>(&format!("\"{text}\"")).unwrap(),
            model
        );
    }
    let error = IsolationModel::parse("SchemaPerTenant").unwrap_err();
    assert_eq!(
        error,
        IsolationModelError {
            value: "SchemaPerTenant".into()
        }
    );
    assert_eq!(
        error.to_string(),
        "unknown isolation model \"SchemaPerTenant\"; expected one of shared_schema, schema_per_tenant, database_per_tenant"
    );
    assert_eq!(
        (error.field(), error.code()),
        ("isolation", "unknown_isolation")
    );
}

#[test]
fn tenant_status_serializes_in_snake_case() {
    let expected = [
        "pending",
        "provisioning",
        "active",
        "suspended",
        "rolling_back",
        "failed",
        "deleting",
        "deleted",
    ];
    for (status, text) in TenantStatus::ALL.into_iter().zip(expected) {
        assert_eq!(serde_json::to_value(status).unwrap(), text);
        assert_eq!(text.parse::<TenantStatus>(), Ok(status));
        assert_eq!(status.to_string(), text);
    }
    assert!("RollingBack".parse::<TenantStatus>().is_err());
}

#[test]
fn plan_names_are_identifiers() {
    assert_eq!(PlanName::parse("pro").unwrap().as_str(), "pro");
    assert!(PlanName::parse("pro_2025-annual").is_ok());
    assert_eq!(PlanName::parse(""), Err(PlanNameError::Empty));
    assert_eq!(PlanName::parse("Pro"), Err(PlanNameError::InvalidCharacter));
    assert_eq!(
        PlanName::parse("2pro"),
        Err(PlanNameError::InvalidCharacter)
    );
    assert_eq!(
        PlanName::parse(&"p".repeat(51)),
        Err(PlanNameError::TooLong { len: 51 })
    );
}

#[test]
fn the_default_catalog_has_four_plans_with_their_isolation_models() {
    let catalog = PlanCatalog::default();
    let plans: Vec<_> = catalog
        .plans()
        .iter()
        .map(|plan| (plan.name.as_str(), plan.default_isolation))
        .collect();
    assert_eq!(
        plans,
        [
            ("free", IsolationModel::SharedSchema),
            ("basic", IsolationModel::SharedSchema),
            ("pro", IsolationModel::SchemaPerTenant),
            ("enterprise", IsolationModel::DatabasePerTenant),
        ]
    );
    assert_eq!(catalog.default_plan().name.as_str(), "basic");
    assert_eq!(
        catalog.plan_or_default(None).unwrap().name.as_str(),
        "basic"
    );
    assert_eq!(
        catalog.plan_or_default(Some("pro")).unwrap().name.as_str(),
        "pro"
    );
    assert_eq!(
        catalog.plan("enterprise").unwrap().limits,
        PlanLimits::UNLIMITED
    );
    assert_eq!(catalog.plan("free").unwrap().limits.max_workers, Some(1));
}

#[test]
fn an_unknown_plan_is_refused_listing_the_known_ones() {
    let error = PlanCatalog::default().plan("gold").unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown plan \"gold\"; the plans are free, basic, pro, enterprise"
    );
    assert_eq!((error.field(), error.code()), ("plan", "unknown_plan"));
}

#[test]
fn a_catalog_must_be_consistent() {
    let plan = |name: &str| Plan {
        name: PlanName::parse(name).unwrap(),
        default_isolation: IsolationModel::SharedSchema,
        limits: PlanLimits::default(),
    };
    let name = |name: &str| PlanName::parse(name).unwrap();
    assert_eq!(
        PlanCatalog::new(vec![], &name("basic")),
        Err(PlanCatalogError::Empty)
    );
    assert_eq!(
        PlanCatalog::new(vec![plan("a"), plan("a")], &name("a")),
        Err(PlanCatalogError::Duplicate { name: "a".into() })
    );
    assert_eq!(
        PlanCatalog::new(vec![plan("a")], &name("b")),
        Err(PlanCatalogError::UnknownDefault { name: "b".into() })
    );
    assert!(PlanCatalog::new(vec![plan("a"), plan("b")], &name("b")).is_ok());
}

#[test]
fn a_catalog_reads_from_configuration() {
    let json = r#"{
        "default_plan": "starter",
        "plans": [
            {"name": "starter", "default_isolation": "shared_schema", "limits": {"max_workers": 2}},
            {"name": "dedicated", "default_isolation": "database_per_tenant"}
        ]
    }"#;
    let catalog: PlanCatalog = serde_json::from_str(json).unwrap();
    assert_eq!(catalog.default_plan().name.as_str(), "starter");
    let starter = catalog.plan("starter").unwrap();
    assert_eq!(starter.limits.max_workers, Some(2));
    assert_eq!(starter.limits.max_domains, None);
    assert_eq!(
        catalog.plan("dedicated").unwrap().default_isolation,
        IsolationModel::DatabasePerTenant
    );

    let round_trip: PlanCatalog =
        serde_json::from_value(serde_json::to_value(&catalog).unwrap()).unwrap();
    assert_eq!(round_trip, catalog);

    let inconsistent = r#"{"default_plan": "gold", "plans": [{"name": "a", "default_isolation": "shared_schema"}]}"#;
    let error = serde_json::from_str::<PlanCatalog>(inconsistent).unwrap_err();
    assert!(
        error.to_string().contains("default plan \"gold\""),
        "{error}"
    );
}

#[test]
fn secret_references_are_not_secrets() {
    assert_eq!(
        SecretRef::parse("tenant/0190/postgres").unwrap().as_str(),
        "tenant/0190/postgres"
    );
    for input in ["", "p@ss w0rd!", "abc$def", &"a".repeat(256)] {
        assert!(SecretRef::parse(input).is_err(), "{input:?}");
    }
}
