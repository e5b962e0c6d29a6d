//! The `TENANTRY_FAULTS` grammar (see the parent module): one entry at a time, with a message
//! that says what is wrong with it.

use tenantry_domain::{AccessResource, ProvisioningStep};

use super::{Crash, Effect, FaultOp, FaultPoint, Rule, Target, Times};

const USAGE: &str = "expected <step>:<times>, release:<step>:<times>, \
                     panic:<point>:<step>[:<times>], abort:<point>:<step>[:<times>] \
                     or access:<access>:<times>";

/// One entry, already trimmed.
pub(super) fn rule(entry: &str) -> Result<Rule, String> {
    if entry.is_empty() {
        return Err(format!("the entry is empty; {USAGE}"));
    }
    let parts: Vec<&str> = entry.split(':').map(str::trim).collect();
    if let ["access", access, times] = parts.as_slice() {
        return Ok(Rule {
            effect: Effect::FailAccess,
            target: Target::Access(access_named(access)?),
            times: times_named(times)?,
            text: entry.to_owned(),
        });
    }
    let (effect, step, times) = match parts.as_slice() {
        ["access", ..] => return Err("expected access:<access>:<times>".to_owned()),
        ["release", step, times] => (Effect::Fail(FaultOp::Release), *step, Some(*times)),
        ["release", ..] => return Err("expected release:<step>:<times>".to_owned()),
        [crash @ ("panic" | "abort"), point, step] => (
            Effect::Crash(parse_crash(crash), point_named(point)?),
            *step,
            None,
        ),
        [crash @ ("panic" | "abort"), point, step, times] => (
            Effect::Crash(parse_crash(crash), point_named(point)?),
            *step,
            Some(*times),
        ),
        [crash @ ("panic" | "abort"), ..] => {
            return Err(format!("expected {crash}:<point>:<step>[:<times>]"));
        }
        [step, times] => (Effect::Fail(FaultOp::Apply), *step, Some(*times)),
        _ => return Err(USAGE.to_owned()),
    };
    Ok(Rule {
        effect,
        target: Target::Step(step_named(step)?),
        times: times.map_or(Ok(Times::Always), times_named)?,
        text: entry.to_owned(),
    })
}

fn parse_crash(word: &str) -> Crash {
    if word == "abort" {
        Crash::Abort
    } else {
        Crash::Panic
    }
}

fn step_named(input: &str) -> Result<ProvisioningStep, String> {
    ProvisioningStep::ALL
        .into_iter()
        .find(|s| s.as_str() == input)
        .ok_or_else(|| {
            let names: Vec<_> = ProvisioningStep::ALL.iter().map(|s| s.as_str()).collect();
            format!(
                "unknown step {input:?}; expected one of {}",
                names.join(", ")
            )
        })
}

fn access_named(input: &str) -> Result<AccessResource, String> {
    AccessResource::ALL
        .into_iter()
        .find(|a| a.as_str() == input)
        .ok_or_else(|| {
            let names: Vec<_> = AccessResource::ALL.iter().map(|a| a.as_str()).collect();
            format!(
                "unknown access {input:?}; expected one of {}",
                names.join(", ")
            )
        })
}

fn point_named(input: &str) -> Result<FaultPoint, String> {
    FaultPoint::ALL
        .into_iter()
        .find(|p| p.as_str() == input)
        .ok_or_else(|| {
            let names: Vec<_> = FaultPoint::ALL.iter().map(|p| p.as_str()).collect();
            format!(
                "unknown point {input:?}; expected one of {}",
                names.join(", ")
            )
        })
}

fn times_named(input: &str) -> Result<Times, String> {
    if input == "always" {
        return Ok(Times::Always);
    }
    match input.parse::<u32>() {
        Ok(n) if n > 0 => Ok(Times::First(n)),
        _ => Err(format!(
            "times must be a positive whole number or \"always\", got {input:?}"
        )),
    }
}
