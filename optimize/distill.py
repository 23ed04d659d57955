"""Knowledge distillation: the student learns the teacher's softened outputs too."""
from __future__ import annotations

from typing import Optional

from eyegrad.train.tf import keras, tf


def _logit(p):
    p = tf.clip_by_value(tf.cast(p, tf.float32), 1e-6, 1 - 1e-6)
    return tf.math.log(p) - tf.math.log1p(-p)


class Distiller(keras.Model):
    """Trains ``student`` on inputs [student_band, teacher_band] against hard labels and
    the frozen ``teacher``'s soft targets at ``temperature``; ``alpha`` weighs the hard loss.

    With ``band_teacher`` (a frozen model on the student's band, e.g. the trained student
    itself) the soft target is the mean of both teachers' logits: an ensemble of two views
    of the eyes, which scores higher on validation than either alone.
    """

    def __init__(self, student: keras.Model, teacher: keras.Model, temperature: float = 3.0,
                 alpha: float = 0.5, label_smoothing: float = 0.05, band_teacher: Optional[keras.Model] = None) -> None:
        super().__init__()
        self.student, self.teacher, self.band_teacher = student, teacher, band_teacher
        for frozen in (teacher, band_teacher):
            if frozen is not None:
                frozen.trainable = False
        self.temperature, self.alpha = temperature, alpha
        self.hard_loss = keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing)
        self.soft_loss = keras.losses.BinaryCrossentropy()
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.loss_tracker]  # reset at every epoch: the epoch's loss is its batches' mean

    def call(self, inputs, training=False):
        return self.student(inputs[0] if isinstance(inputs, (list, tuple)) else inputs, training=training)

    def soft_targets(self, x_student, x_teacher):
        """The teachers' mean logit, softened by the temperature."""
        logits = [_logit(self.teacher(x_teacher, training=False))]
        if self.band_teacher is not None:
            logits.append(_logit(self.band_teacher(x_student, training=False)))
        return tf.sigmoid(tf.add_n(logits) / (len(logits) * self.temperature))

    def train_step(self, data):
        (x_student, x_teacher), y, w = data
        t = self.temperature
        # alpha=1 (the no-teacher control) gives the soft loss no weight: the teachers need not run
        soft_target = self.soft_targets(x_student, x_teacher) if self.alpha < 1 else None
        with tf.GradientTape() as tape:
            p = self.student(x_student, training=True)
            y2 = tf.reshape(tf.cast(y, tf.float32), (-1, 1))
            loss = self.alpha * self.hard_loss(y2, p, sample_weight=w)
            if soft_target is not None:
                soft_pred = tf.sigmoid(_logit(p) / t)
                loss += (1 - self.alpha) * t * t * self.soft_loss(soft_target, soft_pred, sample_weight=w)
        grads = tape.gradient(loss, self.student.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.student.trainable_variables))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}
