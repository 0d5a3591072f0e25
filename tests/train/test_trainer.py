import json
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
from train_helpers import make_graph, make_parts, params

from pyg_sip import PygSipError
from pyg_sip.train import CHECKPOINT, METRICS, Trainer, lr_factor, shard, step_seed


def test_lr_factor():
    assert lr_factor(0, 4, 20, 'linear') == pytest.approx(0.25)
    assert lr_factor(3, 4, 20, 'linear') == pytest.approx(1.0)
    assert lr_factor(12, 4, 20, 'linear') == pytest.approx(0.5)
    assert lr_factor(12, 4, 20, 'cosine') == pytest.approx(0.5)
    assert lr_factor(8, 4, 20, 'cosine') == pytest.approx(0.5 * (1 + 0.7071067811865476))
    assert lr_factor(19, 0, 20, 'constant') == 1.0


def test_invalid_arguments():
    graph = make_graph()
    encoder, objective, loader = make_parts(graph)
    with pytest.raises(PygSipError, match='schedule'):
        Trainer(encoder, objective, loader, schedule='step')
    with pytest.raises(PygSipError, match='lr'):
        Trainer(encoder, objective, loader, lr=-1.0)
    with pytest.raises(PygSipError, match='max_steps'):
        Trainer(encoder, objective, loader, max_steps=0)


def test_fit_logs_and_checkpoints(tmp_path):
    graph = make_graph()
    encoder, objective, loader = make_parts(graph)
    before = params(encoder)
    trainer = Trainer(encoder, objective, loader, max_steps=6, log_every=2, out_dir=tmp_path,
                      progress=False, device='cpu')
    history = trainer.fit()
    assert [r['step'] for r in history] == [2, 4, 6]
    lines = [json.loads(line) for line in (tmp_path / METRICS).read_text().splitlines()]
    assert lines == history
    assert {'loss', 'lm_loss', 'structure_loss', 'lr'} <= set(lines[0])
    # (1 - λ) lm + λ si, as logged
    for r in lines:
        assert r['loss'] == pytest.approx(0.5 * r['lm_loss'] + 0.5 * r['structure_loss'],
                                          rel=1e-5)
    state = torch.load(tmp_path / CHECKPOINT, weights_only=True)
    assert state['step'] == 6
    assert not [p for p in os.listdir(tmp_path) if '.tmp' in p]
    after = params(encoder)
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_resume_is_bitwise_equal(tmp_path):
    graph = make_graph()
    # Uninterrupted: 13 steps over 4 batches per epoch.
    encoder, objective, loader = make_parts(graph)
    Trainer(encoder, objective, loader, max_steps=13, progress=False, device='cpu').fit()
    reference = params(encoder)

    # Interrupted at step 10 (last checkpoint at step 9, mid-epoch), then resumed
    # by a fresh process-like set of objects.
    encoder, objective, loader = make_parts(graph)
    trainer = Trainer(encoder, objective, loader, max_steps=13, checkpoint_every=3,
                      out_dir=tmp_path, progress=False, device='cpu')
    original = trainer._train_step

    def crash(step, batch):
        if step == 10:
            raise KeyboardInterrupt
        return original(step, batch)

    trainer._train_step = crash
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    assert torch.load(tmp_path / CHECKPOINT, weights_only=True)['step'] == 9

    encoder, objective, loader = make_parts(graph)
    with torch.no_grad():  # resume must overwrite these
        for p in encoder.parameters():
            p.add_(1.0)
    Trainer(encoder, objective, loader, max_steps=13, out_dir=tmp_path, progress=False,
            device='cpu').fit()
    resumed = params(encoder)
    assert reference.keys() == resumed.keys()
    for key in reference:
        assert torch.equal(reference[key], resumed[key]), key


def test_early_stopping_restores_best(tmp_path):
    graph = make_graph()
    encoder, objective, loader = make_parts(graph)
    scores = iter([0.5, 0.9, 0.8, 0.7, 0.6, 0.5])
    snapshots = []

    def val_fn(enc):
        snapshots.append(params(enc))
        return next(scores)

    trainer = Trainer(encoder, objective, loader, max_steps=100, val_fn=val_fn, val_every=2,
                      patience=2, out_dir=tmp_path, progress=False, device='cpu')
    trainer.fit()
    assert trainer.step == 8  # validations at 2, 4 (best), 6, 8 -> stop
    assert trainer.best == pytest.approx(0.9)
    final = params(encoder)
    for key in final:
        assert torch.equal(final[key], snapshots[1][key])


def test_step_seed_distinct():
    seeds = {step_seed(0, s, r) for s in range(100) for r in range(4)}
    assert len(seeds) == 400


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _ddp_worker(rank, world_size, port, steps, out_path):
    try:
        _ddp_run(rank, world_size, port, steps, out_path)
    except BaseException:  # surface the child's traceback in the test report
        import traceback
        (out_path.parent / f'rank{rank}.err').write_text(traceback.format_exc())
        raise


def _ddp_run(rank, world_size, port, steps, out_path):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank))
    from pyg_sip.train import init_distributed
    torch.set_num_threads(1)
    init_distributed()
    graph = make_graph()
    anchors = shard(torch.arange(graph.num_nodes), rank, world_size)
    encoder, objective, loader = make_parts(graph, input_nodes=anchors)
    Trainer(encoder, objective, loader, max_steps=steps, progress=False, device='cpu').fit()
    if rank == 0:
        torch.save(encoder.state_dict(), out_path)
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


def test_distributed_two_processes_match_one(tmp_path):
    steps, world = 4, 2
    ctx = mp.get_context('spawn')
    port, out_path = _free_port(), tmp_path / 'ddp.pt'
    procs = [ctx.Process(target=_ddp_worker, args=(r, world, port, steps, out_path))
             for r in range(world)]
    for p in procs:
        p.start()
    for rank, p in enumerate(procs):
        p.join(timeout=120)
        err = tmp_path / f'rank{rank}.err'
        assert p.exitcode == 0, err.read_text() if err.exists() else p.exitcode
    ddp_state = torch.load(out_path, weights_only=True)

    # One process: the mean of the two ranks' losses per step, same batches and seeds.
    graph = make_graph()
    parts = [make_parts(graph, input_nodes=shard(torch.arange(graph.num_nodes), r, world))
             for r in range(world)]
    encoder, objective = parts[0][0], parts[0][1]
    module = torch.nn.ModuleDict({'encoder': encoder, 'objective': objective})
    opt = torch.optim.AdamW(module.parameters(), lr=3e-4, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, 0, steps, 'linear'))
    def epochs(loader):
        for epoch in range(steps):
            loader.set_epoch(epoch)
            yield from loader

    iters = [epochs(p[2]) for p in parts]
    for step in range(steps):
        losses = []
        for r in range(world):
            batch = next(iters[r])
            seed = step_seed(0, step, r)
            torch.manual_seed(seed)
            z, lm = encoder.pretrain_step(batch, generator=torch.Generator().manual_seed(seed))
            losses.append(objective(z, batch.pos_index, batch.neg_index, lm_loss=lm)['loss'])
        opt.zero_grad()
        (sum(losses) / world).backward()
        torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
        opt.step()
        sched.step()
    for key, value in encoder.state_dict().items():
        torch.testing.assert_close(ddp_state[key], value, atol=1e-6, rtol=1e-5)


def read_records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def without_time(records):
    return [{k: v for k, v in r.items() if k != 'seconds'} for r in records]


def interrupt_at(trainer, stop_step):
    original = trainer._train_step

    def crash(step, batch):
        if step == stop_step:
            raise KeyboardInterrupt
        return original(step, batch)

    trainer._train_step = crash


@pytest.mark.parametrize('torn_tail', [False, True])
def test_metrics_hold_each_step_once_after_resume(tmp_path, torn_tail):
    graph = make_graph()
    encoder, objective, loader = make_parts(graph)
    reference = Trainer(encoder, objective, loader, max_steps=9, log_every=1, progress=False,
                        device='cpu').fit()

    encoder, objective, loader = make_parts(graph)
    trainer = Trainer(encoder, objective, loader, max_steps=9, log_every=1, checkpoint_every=3,
                      out_dir=tmp_path, progress=False, device='cpu')
    interrupt_at(trainer, 7)  # logged up to step 7, last checkpoint at step 6
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    assert [r['step'] for r in read_records(tmp_path / METRICS)] == list(range(1, 8))
    if torn_tail:  # an append cut off by a kill: no newline, not JSON
        with open(tmp_path / METRICS, 'a') as f:
            f.write('{"step": 8, "loss": 0.4')

    encoder, objective, loader = make_parts(graph)
    history = Trainer(encoder, objective, loader, max_steps=9, log_every=1, out_dir=tmp_path,
                      progress=False, device='cpu').fit()
    lines = read_records(tmp_path / METRICS)
    assert [r['step'] for r in lines] == list(range(1, 10))
    assert lines == history
    assert without_time(lines) == without_time(reference)
    assert not [p for p in os.listdir(tmp_path) if p.endswith('.tmp')]


def test_metrics_cut_back_when_killed_before_first_checkpoint(tmp_path):
    graph = make_graph()
    encoder, objective, loader = make_parts(graph)
    trainer = Trainer(encoder, objective, loader, max_steps=6, log_every=1, checkpoint_every=5,
                      out_dir=tmp_path, progress=False, device='cpu')
    interrupt_at(trainer, 4)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    assert not (tmp_path / CHECKPOINT).exists()
    encoder, objective, loader = make_parts(graph)
    Trainer(encoder, objective, loader, max_steps=6, log_every=1, out_dir=tmp_path,
            progress=False, device='cpu').fit()
    assert [r['step'] for r in read_records(tmp_path / METRICS)] == list(range(1, 7))


def test_refit_of_finished_run_changes_nothing(tmp_path):
    graph = make_graph()
    encoder, objective, loader = make_parts(graph)
    scores = iter([0.1, 0.3, 0.2])
    Trainer(encoder, objective, loader, max_steps=5, log_every=2, val_fn=lambda e: next(scores),
            val_every=2, out_dir=tmp_path, progress=False, device='cpu').fit()
    metrics = (tmp_path / METRICS).read_bytes()
    final = params(encoder)
    # Validations at 2, 4 and the end (5); a second fit must not validate or log again.
    assert [(r['step'], 'val' in r) for r in read_records(tmp_path / METRICS)] == [
        (2, False), (2, True), (4, False), (4, True), (5, False), (5, True)]
    encoder, objective, loader = make_parts(graph)
    history = Trainer(encoder, objective, loader, max_steps=5, log_every=2,
                      val_fn=lambda e: pytest.fail('validated again'), val_every=2,
                      out_dir=tmp_path, progress=False, device='cpu').fit()
    assert (tmp_path / METRICS).read_bytes() == metrics
    assert history == read_records(tmp_path / METRICS)
    for key, value in params(encoder).items():  # best weights (step 4) restored
        assert torch.equal(value, final[key]), key


def test_early_stop_survives_resume(tmp_path):
    graph = make_graph()
    encoder, objective, loader = make_parts(graph)
    scores = iter([0.5, 0.4, 0.3])
    trainer = Trainer(encoder, objective, loader, max_steps=50, val_fn=lambda e: next(scores),
                      val_every=2, patience=2, out_dir=tmp_path, progress=False, device='cpu')
    trainer.fit()
    assert trainer.step == 6 and trainer.stopped
    encoder, objective, loader = make_parts(graph)
    again = Trainer(encoder, objective, loader, max_steps=50, val_fn=lambda e: 0.0,
                    val_every=2, patience=2, out_dir=tmp_path, progress=False, device='cpu')
    again.fit()
    assert again.step == 6


def test_lm_loss_alias_in_records(tmp_path):
    graph = make_graph()
    encoder, objective, loader = make_parts(graph)
    history = Trainer(encoder, objective, loader, max_steps=2, log_every=1, progress=False,
                      device='cpu').fit()
    for record in history:
        assert record['sample_loss'] == record['lm_loss']
        assert record['loss'] == pytest.approx(0.5 * record['sample_loss'] +
                                               0.5 * record['structure_loss'], rel=1e-5)


def test_atomic_save_alias():
    from pyg_sip.train import atomic_save
    from pyg_sip.utils.io import atomic_save as shared
    assert atomic_save is shared
