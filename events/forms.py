from django import forms

from events.models import EventType, Webhook


class WebhookForm(forms.Form):
    url = forms.URLField(label="Payload URL", max_length=2000, assume_scheme="https")
    secret = forms.CharField(max_length=255, help_text="Signs each delivery: X-Berth-Signature-256.")
    package = forms.ChoiceField(required=False, help_text="Every package of the owner when left empty.")
    events = forms.MultipleChoiceField(choices=EventType.choices, required=False, widget=forms.CheckboxSelectMultiple,
                                       help_text="Every event when none is ticked.")
    format = forms.ChoiceField(choices=Webhook.Format.choices, initial=Webhook.Format.CLOUDEVENTS)

    def __init__(self, *args, packages=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["package"].choices = [("", "(every package)")] + [(p.name, p.name) for p in packages]
