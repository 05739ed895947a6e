//! The simulated world's other ports: a publisher that records every message, a scheduler whose schedules the
//! simulation fires on its virtual clock, and metric readers that answer with nothing (the simulation is about
//! what the pipeline does, not what CloudWatch shows).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::clock::Clock;
use crate::facts::AlarmHistory;
use crate::message::SnsMessage;
use crate::ports::{
    AgentMetric, AwsError, MetricData, MetricReader, ReportPublisher, VerifyScheduler,
    WindowRequest, WorkQueue,
};

/// A message that reached SNS.
#[derive(Debug, Clone)]
pub struct Published {
    pub at: DateTime<Utc>,
    pub topic: String,
    pub subject: String,
    pub message: String,
}

/// Records every publish (the SNS topic as its subscribers see it).
#[derive(Debug, Clone)]
pub struct Recorder {
    clock: Clock,
    log: Arc<Mutex<Vec<Published>>>,
}

impl Recorder {
    pub fn new(clock: Clock) -> Self {
        Recorder {
            clock,
            log: Arc::default(),
        }
    }

    pub fn published(&self) -> Vec<Published> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl ReportPublisher for Recorder {
    async fn publish(&self, topic_arn: &str, message: &SnsMessage) -> Result<String, AwsError> {
        let mut log = self
            .log
            .lock()
            .map_err(|_| AwsError::new("sns", "Publish", "poisoned"))?;
        log.push(Published {
            at: self.clock.now(),
            topic: topic_arn.into(),
            subject: message.subject.clone(),
            message: message.message.clone(),
        });
        Ok(format!("msg-{}", log.len()))
    }
}

/// A one-time schedule ec2ops created.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: String,
    pub at: DateTime<Utc>,
    pub event: serde_json::Value,
}

/// EventBridge Scheduler: one-time schedules by name (creating one that exists counts as created); the simulation
/// takes the new ones and fires them.
#[derive(Debug, Clone, Default)]
pub struct SimScheduler {
    state: Arc<Mutex<(BTreeSet<String>, Vec<Schedule>)>>,
}

impl SimScheduler {
    /// The schedules created since the last call.
    pub fn take_new(&self) -> Vec<Schedule> {
        self.state
            .lock()
            .map(|mut s| std::mem::take(&mut s.1))
            .unwrap_or_default()
    }
}

#[async_trait]
impl VerifyScheduler for SimScheduler {
    async fn schedule(
        &self,
        name: &str,
        event: &serde_json::Value,
        at: DateTime<Utc>,
        _target_arn: &str,
    ) -> Result<String, AwsError> {
        let mut s = self
            .state
            .lock()
            .map_err(|_| AwsError::new("scheduler", "CreateSchedule", "poisoned"))?;
        if s.0.insert(name.to_string()) {
            s.1.push(Schedule {
                name: name.into(),
                at,
                event: event.clone(),
            });
        }
        Ok(format!("arn:aws:scheduler:::schedule/default/{name}"))
    }
}

/// CloudWatch with no data: every read succeeds and is empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct QuietMetrics;

#[async_trait]
impl MetricReader for QuietMetrics {
    async fn metric_data(&self, _: &WindowRequest) -> Result<MetricData, AwsError> {
        Ok(MetricData::new())
    }
    async fn agent_metrics(&self, _: &str) -> Result<Vec<AgentMetric>, AwsError> {
        Ok(Vec::new())
    }
    async fn alarm_history(
        &self,
        _: &str,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> Result<AlarmHistory, AwsError> {
        Ok(AlarmHistory { items: Vec::new() })
    }
}

/// The work queue (SQS): the sweep and multi-instance Health events fan out one message per instance incident; the
/// simulation delivers each to its own invocation and redelivers it after the visibility timeout when it fails.
#[derive(Debug, Clone, Default)]
pub struct SimQueue {
    sent: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl SimQueue {
    /// The messages sent since the last call.
    pub fn take_new(&self) -> Vec<serde_json::Value> {
        self.sent
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }
}

#[async_trait]
impl WorkQueue for SimQueue {
    async fn enqueue(&self, event: &serde_json::Value) -> Result<(), AwsError> {
        self.sent
            .lock()
            .map_err(|_| AwsError::new("sqs", "SendMessage", "poisoned"))?
            .push(event.clone());
        Ok(())
    }
}

/// The Slack app's settings as the SSM adapter returns them, or its failure (`None`: the parameter cannot be read).
#[derive(Debug, Clone)]
pub struct SimSlackSettings {
    pub app: Option<crate::remediation::approval::slack::SlackApp>,
}

#[async_trait]
impl crate::ports::SlackSettings for SimSlackSettings {
    async fn slack_app(&self) -> Result<crate::remediation::approval::slack::SlackApp, AwsError> {
        self.app.clone().ok_or_else(|| {
            AwsError::new("ssm", "GetParameter", "ParameterNotFound")
                .with_code("ParameterNotFound", crate::ports::ErrorKind::Other)
        })
    }
}

/// The account's silences in a run: every alarm muted by one rule, or the change calendar closed (or neither).
#[derive(Debug, Clone, Copy, Default)]
pub struct SimSilence {
    pub mute_every_alarm: bool,
    pub calendar_closed: bool,
}

/// The rule that mutes every alarm when [`SimSilence::mute_every_alarm`].
pub const SIM_MUTE_RULE: &str = "sim-maintenance";
/// The calendar the run's settings name.
pub const SIM_CALENDAR: &str = "release-freeze";

#[async_trait]
impl crate::ports::SilenceReader for SimSilence {
    async fn active_mute_rules(
        &self,
        _alarm_name: &str,
    ) -> Result<Vec<crate::silence::MuteRule>, AwsError> {
        Ok(if self.mute_every_alarm {
            vec![crate::silence::MuteRule {
                name: SIM_MUTE_RULE.into(),
                expires: None,
                alarm: None,
            }]
        } else {
            Vec::new()
        })
    }

    async fn calendar_state(
        &self,
        _calendar: &str,
        _at: DateTime<Utc>,
    ) -> Result<crate::silence::CalendarState, AwsError> {
        Ok(crate::silence::CalendarState {
            open: !self.calendar_closed,
            next_transition: None,
        })
    }

    async fn check_alarms(&self, instance_id: &str, _check: &str) -> Result<Vec<String>, AwsError> {
        // Every instance's checks are watched by an alarm of its own.
        Ok(vec![format!("{instance_id}-status-check")])
    }
}
