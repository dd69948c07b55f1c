//! Known states for the dashboard's tests: a ResNet-18 run on ten digit classes.

use std::collections::BTreeMap;

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crossterm::event::{KeyCode, KeyEvent};

use super::app::App;
use super::update::{Msg, Outgoing, update};
use crate::telemetry::{GpuSample, HostSample, Sample};
use crate::train::event::{EpochInfo, Event, GroupInfo, Record, Started, Status, StepInfo, Summary};
use crate::train::metrics::EvalMetrics;

fn group(name: &str, kind: &str, parent: Option<&str>, params: usize) -> GroupInfo {
    GroupInfo {
        name: name.into(),
        kind: kind.into(),
        parent: parent.map(Into::into),
        params,
    }
}

/// ResNet-18's groups with torchvision's parameter counts and a 10-class head.
pub fn resnet18_groups() -> Vec<GroupInfo> {
    let mut g = vec![group("stem", "stem", None, 9_536)];
    let stages = [
        ("layer1", [73_984, 73_984]),
        ("layer2", [230_144, 295_424]),
        ("layer3", [919_040, 1_180_672]),
        ("layer4", [3_673_088, 4_720_640]),
    ];
    for (stage, blocks) in stages {
        g.push(group(stage, "stage", None, blocks.iter().sum()));
        for (i, p) in blocks.iter().enumerate() {
            g.push(group(&format!("{stage}.{i}"), "block", Some(stage), *p));
        }
    }
    g.push(group("head", "head", None, 5_130));
    g
}

pub fn lrs(backbone: f64, head: f64) -> BTreeMap<String, f64> {
    ["stem", "layer1", "layer2", "layer3", "layer4"]
        .iter()
        .map(|g| (g.to_string(), backbone))
        .chain([("head".to_string(), head)])
        .collect()
}

pub fn started(frozen: &[&str]) -> Started {
    Started {
        run_dir: "runs/20261128-031500-quickstart".into(),
        name: "20261128-031500-quickstart".into(),
        model: "resnet18".into(),
        device: "cpu (flex)".into(),
        data_root: "assets/digits".into(),
        classes: (0..10).map(|c| c.to_string()).collect(),
        groups: resnet18_groups(),
        frozen: frozen.iter().map(|s| s.to_string()).collect(),
        lr: lrs(1e-3, 3e-3),
        train_images: 700,
        val_images: 100,
        test_images: 200,
        skipped_images: 0,
        epochs: 10,
        steps_per_epoch: 11,
        resumed_from_step: None,
        weights: "none: every layer freshly initialised".into(),
        config: "[train]\nfrozen_bn = \"fixed\"\n".into(),
    }
}

pub fn step_info(loss: f64) -> StepInfo {
    StepInfo {
        loss,
        lr: lrs(1e-3, 3e-3),
        grad_norm: 1.0,
        loss_scale: None,
        images_per_second: 40.0,
        data_wait_ms: 80.0,
        step_ms: 1600.0,
    }
}

/// Validation where class c is right 9 times in 10 and otherwise taken for c + 1.
pub fn eval(loss: f64) -> EvalMetrics {
    let confusion: Vec<Vec<u64>> = (0..10)
        .map(|t| {
            (0..10)
                .map(|p| if p == t { 9 } else { u64::from(p == (t + 1) % 10) })
                .collect()
        })
        .collect();
    EvalMetrics {
        loss,
        accuracy: 0.9,
        top5: Some(0.99),
        label_accuracy: None,
        f1_macro: 0.9,
        auc: Some(0.95),
        precision: vec![0.9; 10],
        recall: vec![0.9; 10],
        f1: vec![0.9; 10],
        confusion,
        support: vec![10; 10],
        samples: 100,
    }
}

pub fn epoch_info(val_loss: f64, best: bool) -> EpochInfo {
    EpochInfo {
        train_loss: 0.5,
        train_accuracy: 0.85,
        val: eval(val_loss),
        lr: lrs(1e-3, 3e-3),
        best,
        seconds: 18.0,
        images_per_second: 39.0,
        patience_left: Some(3),
    }
}

pub fn summary(status: Status) -> Summary {
    Summary {
        status,
        best_epoch: Some(2),
        epochs_run: 2,
        steps: 22,
        val: Some(eval(0.3)),
        test: Some(eval(0.35)),
        images_per_second: 41.5,
        wall_seconds: 61.0,
        skipped_images: 0,
        error: None,
    }
}

pub fn host() -> HostSample {
    HostSample {
        cpu_percent: 97.0,
        process_cpu_percent: 93.0,
        cores: 2,
        ram_used_bytes: 3 << 30,
        ram_total_bytes: 8 << 30,
        process_ram_bytes: 1 << 30,
    }
}

pub fn gpu_sample(util: u32) -> Sample {
    Sample {
        gpus: vec![GpuSample {
            index: 0,
            name: "NVIDIA H100 80GB HBM3".into(),
            utilization_percent: Some(util),
            memory_used_bytes: Some(20 << 30),
            memory_total_bytes: Some(80 << 30),
            temperature_c: Some(61),
            power_watts: Some(312.0),
            power_limit_watts: Some(700.0),
            sm_clock_mhz: Some(1980),
        }],
        no_gpu: None,
        host: host(),
    }
}

pub fn no_gpu_sample() -> Sample {
    Sample {
        gpus: Vec::new(),
        no_gpu: Some("no NVIDIA GPU (NVML: a libloading error occurred)".into()),
        host: host(),
    }
}

pub fn record(time: f64, step: u64, epoch: usize, event: Event) -> Record {
    Record {
        time,
        step,
        epoch,
        event,
    }
}

/// A run 2 epochs in: 22 steps, stem and layer1 frozen, a telemetry sample without GPU.
pub fn mid_run(app: &mut App) {
    use super::update::{Msg, update};
    let mut feed = |r: Record| {
        update(app, Msg::Record(Box::new(r)));
    };
    feed(record(
        1000.0,
        0,
        0,
        Event::Started(Box::new(started(&["stem", "layer1"]))),
    ));
    for step in 1..=22u64 {
        let epoch = (step as usize - 1) / 11 + 1;
        let loss = 2.3 / (1.0 + step as f64 * 0.2);
        feed(record(
            1000.0 + step as f64 * 2.0,
            step,
            epoch,
            Event::Step(step_info(loss)),
        ));
        if step % 11 == 0 {
            let val = 1.0 / epoch as f64;
            feed(record(
                1000.0 + step as f64 * 2.0,
                step,
                epoch,
                Event::Epoch(Box::new(epoch_info(val, true))),
            ));
        }
    }
    feed(record(1045.0, 22, 3, Event::Telemetry(Box::new(no_gpu_sample()))));
    update(app, Msg::Tick(1046.0));
}

/// Draws the whole dashboard (or one panel) into a test terminal and returns its text.
pub fn render(width: u16, height: u16, draw: impl FnOnce(&mut ratatui::Frame)) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal.draw(draw).expect("draw");
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut line = String::new();
        for x in 0..buffer.area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A key pressed, as the terminal sends it; the commands it sent to the trainer.
pub fn press(app: &mut App, code: KeyCode) -> Vec<Outgoing> {
    update(app, Msg::Key(KeyEvent::from(code)))
}
