"""The ensemble's members trained as tasks of their own (lstm_forecast.parallel): ``fit`` and ``refit`` for one
model, ``fit_many`` for several at once (crossval's folds). Member k depends on ``seed + k`` and its data alone,
so the members train side by side and give the bytes they give one after the other."""
from __future__ import annotations

import torch

from lstm_forecast.errors import StopAfterBatch
from lstm_forecast.model.fit_results import MemberResult, TrainResult
from lstm_forecast.model.forecasting import forecast, forecast_mse
from lstm_forecast.model.network import Ensemble, LSTMForecaster
from lstm_forecast.model.progress import Progress
from lstm_forecast.model.training import (VALIDATION_WINDOWS, FitSettings, optimisation, build_model,
                                          check_divergence, fit_member, train_epoch)
from lstm_forecast.parallel import job_of, run_all
from lstm_forecast.prep.windows import Windows


def fit(train: Windows, val: Windows, settings: FitSettings, device: torch.device,
        announce=lambda kernels: None) -> TrainResult:
    """Train ``settings.ensemble`` members from seeds ``seed, seed + 1, ...`` (see ``fit_member``); the model
    is their ensemble, scored on ``val`` like each member.

    ``train`` yields the training pairs (one-step targets for ``recursive``, ``horizon`` targets for
    ``direct``); ``val`` holds windows of the full horizon, whose H-step forecasts are scored in the
    modelled series' scaled units (changes, with differencing; evaluate scores levels). ``announce`` is
    told which LSTM kernels run, once they are built.
    """
    return fit_many([(train, val, settings)], device, announce)[0]


def fit_many(jobs: list[tuple[Windows, Windows, FitSettings]], device: torch.device,
             announce=lambda kernels: None) -> list[TrainResult]:
    """``fit`` for each (train, val, settings) of ``jobs`` (crossval's folds): every member of every job is a
    task of its own, and all of them are spread over the workers at once."""
    tasks, owners = [], []
    for j, (train, val, settings) in enumerate(jobs):
        outputs = val.horizon if settings.strategy == "direct" else 1
        # Built here first, so that a kernel that cannot be built fails before any work is spread out.
        with job_of(j):
            kernels = build_model(settings, outputs, device, settings.seed, train.input_size,
                                  train.time_step).prepare_kernels(device)
        if j == 0:
            announce(kernels)
        tasks += [("fit", k, train, val, settings, device, outputs, settings.epochs) for k in range(settings.ensemble)]
        owners += [j] * settings.ensemble
    trained = iter(_members(tasks, device, owners))
    return [_ensemble(train, val, settings, device, [next(trained) for _ in range(settings.ensemble)])
            for train, val, settings in jobs]


def _ensemble(train: Windows, val: Windows, settings: FitSettings, device: torch.device,
              trained: list[tuple[dict, MemberResult]]) -> TrainResult:
    """The ensemble of the trained members, its validation loss and the members' spread."""
    outputs = val.horizon if settings.strategy == "direct" else 1
    members = [_rebuilt(settings, outputs, device, k, train, state) for k, (state, _) in enumerate(trained)]
    results = [result for _, result in trained]
    ensemble = Ensemble(members).eval()
    if len(members) == 1:
        return TrainResult(ensemble, results, results[0].best_val_loss, 0.0)
    sample = val.thinned(VALIDATION_WINDOWS)
    with torch.inference_mode():
        each = torch.stack([forecast(member, sample, val.horizon, settings.strategy) for member in members])
    spread = float(each.std(dim=0, correction=0).mean())
    return TrainResult(ensemble, results, forecast_mse(ensemble, sample, settings.strategy), spread)


def refit(train: Windows, settings: FitSettings, epochs: tuple[int, ...], outputs: int, device: torch.device,
          announce=lambda kernels: None) -> Ensemble:
    """Train the ensemble again on ``train``, member k from seed ``seed + k`` for ``epochs[k]`` epochs (the
    epoch validation chose for it), with no validation: the last epoch's weights are kept. On the same
    training windows this gives ``fit``'s members bit for bit; on the whole series, the model that
    forecasts the future."""
    if epochs:
        announce(build_model(settings, outputs, device, settings.seed, train.input_size, train.time_step)
                 .prepare_kernels(device))
    tasks = [("refit", k, train, None, settings, device, outputs, member_epochs)
             for k, member_epochs in enumerate(epochs)]
    trained = _members(tasks, device)
    members = [_rebuilt(settings, outputs, device, k, train, state) for k, (state, _) in enumerate(trained)]
    return Ensemble(members).eval()


def _members(tasks: list[tuple], device: torch.device,
             owners: list[int] | None = None) -> list[tuple[dict, MemberResult | None]]:
    """Each member task's trained weights and (fit) its MemberResult: in worker processes on the CPU
    (lstm_forecast.parallel), one after the other on a GPU."""
    if device.type != "cpu":
        return [_train_member(task) for task in tasks]
    # A member's cost grows with its training windows (crossval's later folds hold more).
    return run_all(_train_member, tasks, torch.get_num_threads(), owners, [len(task[2]) for task in tasks])


def _train_member(task: tuple) -> tuple[dict[str, torch.Tensor], MemberResult | None]:
    """One member, trained from seed ``settings.seed + k`` and nothing else: ``fit`` (validated each epoch, the
    best epoch's weights kept) or ``refit`` (``epochs`` epochs, the last kept). A task of its own, so that
    members train in parallel and give the same bytes as one after the other."""
    kind, k, train, val, settings, device, outputs, epochs = task
    seed = settings.seed + k
    model = build_model(settings, outputs, device, seed, train.input_size, train.time_step)
    progress = Progress("" if kind == "fit" else "retraining: ", settings.ensemble, epochs)
    with StopAfterBatch() as stop:
        if kind == "fit":
            result = fit_member(model, train, val, settings, seed, stop,
                                lambda epoch, detail="": progress.tick(k + 1, epoch, detail), progress.epoch_done)
            return model.state_dict(), result
        orders, step = optimisation(model, train, settings, seed)
        zero_loss = train.mean_square()
        for epoch in range(1, epochs + 1):
            loss = train_epoch(model, train, orders(), settings, epoch, step, stop,
                               lambda batch, batches, epoch=epoch: progress.tick(
                                   k + 1, epoch, f", batch {batch} of {batches}"))
            check_divergence(epoch, loss, loss, zero_loss)
            progress.epoch_done()
        return model.state_dict(), None


def _rebuilt(settings: FitSettings, outputs: int, device: torch.device, k: int, train: Windows,
             state: dict[str, torch.Tensor]) -> LSTMForecaster:
    model = build_model(settings, outputs, device, settings.seed + k, train.input_size, train.time_step)
    model.load_state_dict(state)
    return model.eval()
