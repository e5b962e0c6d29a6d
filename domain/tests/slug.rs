//! The slug's rules: length, alphabet, hyphens, reserved words (built-in and configured), and
//! deriving one from a name with accents folded.

use tenantry_domain::{FieldError, ReservedSubdomains, Slug, SlugError};

fn parse(input: &str) -> Result<Slug, SlugError> {
    Slug::parse(input, &ReservedSubdomains::default())
}

fn derive(name: &str) -> Result<String, SlugError> {
    Slug::from_name(name, &ReservedSubdomains::default()).map(Slug::into_inner)
}

#[test]
fn valid_slugs_parse_unchanged() {
    for input in [
        "drmarco",
        "abc",
        "clinica-sao-jose",
        "a1b2",
        "007",
        "a-b-c",
        "ab-c--d",
    ] {
        assert_eq!(parse(input).unwrap().as_str(), input);
    }
    let longest = "a".repeat(63);
    assert_eq!(parse(&longest).unwrap().as_str(), longest);
}

#[test]
fn length_is_3_to_63_characters() {
    assert_eq!(parse(""), Err(SlugError::TooShort { len: 0 }));
    assert_eq!(parse("ab"), Err(SlugError::TooShort { len: 2 }));
    assert_eq!(parse(&"a".repeat(64)), Err(SlugError::TooLong { len: 64 }));
}

#[test]
fn only_lower_case_ascii_letters_digits_and_hyphens() {
    for (input, ch) in [
        ("DrMarco", 'D'),
        ("dr_marco", '_'),
        ("dr marco", ' '),
        ("clínica", 'í'),
        ("dr.marco", '.'),
        ("x';drop", '\''),
    ] {
        assert_eq!(
            parse(input),
            Err(SlugError::InvalidCharacter { ch }),
            "{input}"
        );
    }
}

#[test]
fn no_hyphen_at_either_end() {
    assert_eq!(parse("-abc"), Err(SlugError::HyphenAtEdge));
    assert_eq!(parse("abc-"), Err(SlugError::HyphenAtEdge));
}

#[test]
fn no_idna_style_prefix() {
    assert_eq!(parse("xn--80ak6aa92e"), Err(SlugError::IdnaPrefix));
    assert_eq!(parse("ab--c"), Err(SlugError::IdnaPrefix));
    assert!(parse("abc--d").is_ok());
}

#[test]
fn built_in_reserved_words_are_refused() {
    for word in [
        "admin", "api", "www", "platform", "sistema", "static", "mail",
    ] {
        assert_eq!(
            parse(word),
            Err(SlugError::Reserved {
                slug: word.to_owned()
            })
        );
    }
    // Only whole words: a slug that merely contains one is fine.
    assert!(parse("admin-panel-clinic").is_ok());
}

#[test]
fn configured_reserved_words_are_refused_too() {
    let reserved = ReservedSubdomains::from_list(" Chat, status\nbilling ,,");
    for word in ["chat", "status", "billing", "admin"] {
        assert!(reserved.contains(word), "{word}");
        assert_eq!(
            Slug::parse(word, &reserved),
            Err(SlugError::Reserved {
                slug: word.to_owned()
            })
        );
    }
    assert!(Slug::parse("chat", &ReservedSubdomains::default()).is_ok());
    assert_eq!(
        ReservedSubdomains::new(["Help"]).iter().collect::<Vec<_>>(),
        [
            "admin", "api", "help", "mail", "platform", "sistema", "static", "www"
        ]
    );
}

#[test]
fn errors_read_well_and_name_the_field() {
    let cases = [
        (
            parse("ab"),
            "slug must be at least 3 characters long, got 2",
            "invalid_slug",
        ),
        (
            parse("Dr"),
            "slug must be at least 3 characters long, got 2",
            "invalid_slug",
        ),
        (
            parse("dr marco"),
            "slug may contain only a-z, 0-9 and '-', found ' '",
            "invalid_slug",
        ),
        (
            parse("-abc"),
            "slug must not start or end with '-'",
            "invalid_slug",
        ),
        (
            parse("admin"),
            "slug \"admin\" is reserved",
            "reserved_slug",
        ),
    ];
    for (result, message, code) in cases {
        let error = result.unwrap_err();
        assert_eq!(error.to_string(), message);
        assert_eq!(error.field(), "slug");
        assert_eq!(error.code(), code);
    }
}

#[test]
fn from_name_folds_accents_and_joins_words_with_hyphens() {
    assert_eq!(derive("Clínica São José").unwrap(), "clinica-sao-jose");
    assert_eq!(derive("Clínica Dr. Marco").unwrap(), "clinica-dr-marco");
    assert_eq!(
        derive("  Ação & Companhia Ltda.  ").unwrap(),
        "acao-companhia-ltda"
    );
    assert_eq!(derive("Straße Ærø Łódź").unwrap(), "strasse-aero-lodz");
    assert_eq!(derive("O'Brien's Café").unwrap(), "obriens-cafe");
    assert_eq!(
        derive("Dental 24/7 -- Centro").unwrap(),
        "dental-24-7-centro"
    );
    assert_eq!(derive("ÑANDÚ").unwrap(), "nandu");
}

#[test]
fn from_name_transliterates_other_scripts() {
    let slug = derive("Москва Клиника").unwrap();
    assert_eq!(slug, "moskva-klinika");
}

#[test]
fn from_name_cuts_to_63_characters_without_a_trailing_hyphen() {
    let name = format!("{} {}", "a".repeat(62), "bcd");
    let slug = derive(&name).unwrap();
    assert_eq!(slug, "a".repeat(62));

    let long =
        "Clínica Odontológica Especializada em Implantes e Ortodontia de São José dos Campos";
    let slug = derive(long).unwrap();
    assert!(slug.len() <= 63, "{slug}");
    assert!(!slug.ends_with('-'), "{slug}");
    assert!(slug.starts_with("clinica-odontologica-especializada-em-implantes"));
}

#[test]
fn from_name_refuses_reserved_results() {
    assert_eq!(
        derive("Admin"),
        Err(SlugError::Reserved {
            slug: "admin".into()
        })
    );
    let reserved = ReservedSubdomains::from_list("chat");
    assert_eq!(
        Slug::from_name("Chat!", &reserved),
        Err(SlugError::Reserved {
            slug: "chat".into()
        })
    );
}

#[test]
fn from_name_says_so_when_too_little_is_left() {
    for name in ["", "!!!", "Ça", "  -  ", "X-"] {
        let error = derive(name).unwrap_err();
        assert_eq!(
            error,
            SlugError::CannotDerive {
                name: name.to_owned()
            },
            "{name:?}"
        );
        assert_eq!(error.field(), "slug");
    }
    assert_eq!(
        derive("!!").unwrap_err().to_string(),
        "cannot derive a slug from the name \"!!\"; give a slug explicitly"
    );
}

#[test]
fn serde_is_a_plain_string_and_checks_the_shape_on_the_way_back() {
    let slug = parse("drmarco").unwrap();
    assert_eq!(serde_json::to_string(&slug).unwrap(), "\"drmarco\"");
    assert_eq!(serde_json::from_str::<Slug>("\"drmarco\"").unwrap(), slug);
    assert!(serde_json::from_str::<Slug>("\"Dr Marco\"").is_err());
    // A slug recorded before a word was reserved must still read.
    assert_eq!(
        serde_json::from_str::<Slug>("\"admin\"").unwrap().as_str(),
        "admin"
    );
}
