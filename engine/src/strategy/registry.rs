//! Building a strategy by name: the names config may use, each with a
//! factory that checks its parameters at start-up and, for a strategy whose
//! parameters may change while it runs, a tuner that checks new ones.

use std::fmt;

use serde::de::DeserializeOwned;

use super::{EwmaCrossover, MarketMaker, Strategy, Tuning};
use crate::domain::Instruments;

/// Builds a strategy from its `[strategy.params]` table, or says what is
/// wrong with them.
pub type Factory = fn(&toml::Table, &Instruments) -> Result<Box<dyn Strategy>, String>;

/// Parses and checks new parameters for a running strategy (a whole
/// `[strategy.params]` table), into the [`Tuning`] its
/// [`Strategy::retune`] reads.
pub type Tuner = fn(&toml::Table, &Instruments) -> Result<Tuning, String>;

/// Why a strategy could not be built, or retuned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrategyError {
    /// No strategy has this name.
    Unknown {
        /// The name asked for.
        name: String,
        /// The names there are.
        known: Vec<&'static str>,
    },
    /// Its parameters are wrong.
    Params {
        /// The strategy.
        name: String,
        /// What is wrong, naming the key.
        message: String,
    },
    /// Its parameters are fixed at start: it was registered without a
    /// tuner.
    Fixed {
        /// The strategy.
        name: String,
    },
}

impl fmt::Display for StrategyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StrategyError::Unknown { name, known } => write!(
                f,
                "no strategy named `{name}`; the known ones are {}",
                known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            StrategyError::Params { name, message } => {
                write!(f, "strategy `{name}`: {message}")
            }
            StrategyError::Fixed { name } => write!(
                f,
                "strategy `{name}` takes no parameter changes while it runs; change them in \
                 the config and restart"
            ),
        }
    }
}

impl std::error::Error for StrategyError {}

/// The strategies that can be named in config.
#[derive(Debug, Clone)]
pub struct Registry {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    name: &'static str,
    factory: Factory,
    tuner: Option<Tuner>,
}

impl Registry {
    /// A registry of the built-in strategies: `ewma-crossover` and
    /// `market-maker`.
    pub fn with_builtins() -> Self {
        let mut registry = Registry {
            entries: Vec::new(),
        };
        registry.register_tunable(
            "ewma-crossover",
            EwmaCrossover::factory,
            EwmaCrossover::tuner,
        );
        registry.register_tunable("market-maker", MarketMaker::factory, MarketMaker::tuner);
        registry
    }

    /// Adds (or replaces) the strategy called `name`, its parameters fixed
    /// at start.
    pub fn register(&mut self, name: &'static str, factory: Factory) {
        self.add(name, factory, None);
    }

    /// Adds (or replaces) the strategy called `name`, whose parameters
    /// `tuner` checks while it runs (see [`Strategy::retune`]).
    pub fn register_tunable(&mut self, name: &'static str, factory: Factory, tuner: Tuner) {
        self.add(name, factory, Some(tuner));
    }

    fn add(&mut self, name: &'static str, factory: Factory, tuner: Option<Tuner>) {
        self.entries.retain(|e| e.name != name);
        self.entries.push(Entry {
            name,
            factory,
            tuner,
        });
    }

    /// The names there are, in registration order.
    pub fn names(&self) -> Vec<&'static str> {
        self.entries.iter().map(|e| e.name).collect()
    }

    fn entry(&self, name: &str) -> Result<&Entry, StrategyError> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| StrategyError::Unknown {
                name: name.to_owned(),
                known: self.names(),
            })
    }

    /// Builds the strategy called `name` from `params`.
    ///
    /// # Errors
    ///
    /// [`StrategyError::Unknown`] for a name not registered,
    /// [`StrategyError::Params`] for parameters its factory refuses.
    pub fn build(
        &self,
        name: &str,
        params: &toml::Table,
        instruments: &Instruments,
    ) -> Result<Box<dyn Strategy>, StrategyError> {
        (self.entry(name)?.factory)(params, instruments).map_err(|message| StrategyError::Params {
            name: name.to_owned(),
            message,
        })
    }

    /// Checks `params` (a whole table) as new parameters for the running
    /// strategy called `name`.
    ///
    /// # Errors
    ///
    /// As [`Registry::build`], and [`StrategyError::Fixed`] for a strategy
    /// registered without a tuner.
    pub fn tune(
        &self,
        name: &str,
        params: &toml::Table,
        instruments: &Instruments,
    ) -> Result<Tuning, StrategyError> {
        let tuner = self.entry(name)?.tuner.ok_or(StrategyError::Fixed {
            name: name.to_owned(),
        })?;
        tuner(params, instruments).map_err(|message| StrategyError::Params {
            name: name.to_owned(),
            message,
        })
    }
}

/// Parses a parameter table into `P`, naming the key of any error: what a
/// [`Factory`] calls first.
pub fn parse_params<P: DeserializeOwned>(params: &toml::Table) -> Result<P, String> {
    serde_path_to_error::deserialize(toml::Value::Table(params.clone())).map_err(|err| {
        let message = err.inner().to_string();
        let first_line = message.lines().next().unwrap_or_default().to_owned();
        match err.path().to_string().as_str() {
            "." => first_line,
            path => format!("`{path}`: {first_line}"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instruments() -> Instruments {
        super::super::one_instrument("100")
    }

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn builds_the_builtins_by_name() {
        let registry = Registry::with_builtins();
        assert_eq!(registry.names(), ["ewma-crossover", "market-maker"]);
        let ewma = "fast_shift = 2\nslow_shift = 5\nqty = 1\nmax_position = 5\n";
        assert!(registry
            .build("ewma-crossover", &table(ewma), &instruments())
            .is_ok());
        let mm = "half_spread_ticks = 1\nqty = 1\nskew_ticks_per_lot = 0\n\
                  max_position = 3\nrequote_ticks = 1\n";
        assert!(registry
            .build("market-maker", &table(mm), &instruments())
            .is_ok());
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let err = Registry::with_builtins()
            .build("ewma", &toml::Table::new(), &instruments())
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "no strategy named `ewma`; the known ones are `ewma-crossover`, `market-maker`"
        );
    }

    #[test]
    fn bad_parameters_name_the_key() {
        let registry = Registry::with_builtins();
        let build = |text: &str| {
            registry
                .build("ewma-crossover", &table(text), &instruments())
                .err()
                .unwrap()
                .to_string()
        };
        let unknown =
            build("fast_shift = 2\nslow_shift = 5\nqty = 1\nmax_position = 5\nqtty = 1\n");
        assert!(unknown.contains("unknown field `qtty`"), "{unknown}");
        let typed = build("fast_shift = \"2\"\nslow_shift = 5\nqty = 1\nmax_position = 5\n");
        assert!(
            typed.starts_with("strategy `ewma-crossover`: `fast_shift`:"),
            "{typed}"
        );
        let missing = build("fast_shift = 2\nslow_shift = 5\nqty = 1\n");
        assert!(
            missing.contains("missing field `max_position`"),
            "{missing}"
        );
    }

    #[test]
    fn tuning_checks_parameters_as_at_start_and_only_for_tunable_strategies() {
        let mut registry = Registry::with_builtins();
        let ewma = "fast_shift = 2\nslow_shift = 5\nqty = 1\nmax_position = 5\n";
        let tuning = registry
            .tune("ewma-crossover", &table(ewma), &instruments())
            .unwrap();
        assert_eq!(
            tuning.get::<super::super::EwmaParams>().unwrap().slow_shift,
            5
        );
        let contradicting = "fast_shift = 5\nslow_shift = 5\nqty = 1\nmax_position = 5\n";
        let err = registry
            .tune("ewma-crossover", &table(contradicting), &instruments())
            .unwrap_err();
        assert!(
            err.to_string().contains("`slow_shift` must be more"),
            "{err}"
        );
        registry.register("fixed", EwmaCrossover::factory);
        let err = registry
            .tune("fixed", &table(ewma), &instruments())
            .unwrap_err();
        assert_eq!(
            err,
            StrategyError::Fixed {
                name: "fixed".into()
            }
        );
        assert!(matches!(
            registry.tune("nope", &table(ewma), &instruments()),
            Err(StrategyError::Unknown { .. })
        ));
    }

    #[test]
    fn a_registered_strategy_replaces_one_of_the_same_name() {
        fn idle(_: &toml::Table, _: &Instruments) -> Result<Box<dyn Strategy>, String> {
            Err("idle strategy built".into())
        }
        let mut registry = Registry::with_builtins();
        registry.register("market-maker", idle);
        let err = registry
            .build("market-maker", &toml::Table::new(), &instruments())
            .err();
        assert_eq!(
            err.unwrap().to_string(),
            "strategy `market-maker`: idle strategy built"
        );
    }
}
